/* The S3 tasks' parts that need no server: SigV4 encoding, bucket names, the reading of
 * S3's XML, the classification of answers, configuration from the environment, argument
 * checks, and a refused connection. test_s3 (integration) runs them against a server. */
#include "data_file.h"
#include "s3.h"
#include "s3_xml.h"
#include "sha256.h"
#include "tasks.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SECRET "s3cr3t/Key+With=Chars"

static weft_task_registry *registry;
static char data_dir[64];

static void setup(void)
{
    weft_tasks_global_init();
    registry = weft_task_registry_create();
    weft_tasks_register_builtin(registry);
    strcpy(data_dir, "/tmp/weft-s3-unit-XXXXXX");
    cr_assert_not_null(mkdtemp(data_dir));
    /* each Criterion test runs in a process of its own: these stay in it */
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_REGION");
    unsetenv("WEFT_S3_ENDPOINT");
}

static void teardown(void)
{
    weft_task_registry_destroy(registry);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(s3, .init = setup, .fini = teardown);

/* Runs task with input (JSON text); returns its result, the reason in err. */
static weft_task_result call(const char *task, const char *input_json, json_t **out, char err[512])
{
    json_t *input = json_loads(input_json, 0, NULL);
    cr_assert_not_null(input, "test input parses: %s", input_json);
    weft_task_ctx ctx = {.workflow_uid = "00000000-0000-4000-8000-000000000001",
                         .activity_uid = "00000000-0000-4000-8000-000000000002",
                         .activity_name = "act",
                         .attempt = 1,
                         .input = input,
                         .params = input,
                         .data_dir = data_dir};
    *out = NULL;
    err[0] = '\0';
    weft_task_result r = weft_task_lookup(registry, task)(&ctx, out, err, 512);
    json_decref(input);
    return r;
}

static void expect_failure(const char *task, const char *input_json, weft_task_result want,
                           const char *part)
{
    json_t *out;
    char err[512];
    weft_task_result r = call(task, input_json, &out, err);
    cr_expect_eq(r, want, "%s %s: result %d, want %d (%s)", task, input_json, r, want, err);
    cr_expect_null(out);
    cr_expect(strstr(err, part), "%s: '%s' mentions '%s'", task, err, part);
    cr_expect(!strstr(err, SECRET), "the secret key is not in '%s'", err);
}

/* ---- encoding, names, answers ---- */

Test(s3, keys_are_encoded_as_sigv4_canonicalizes_them_slashes_kept)
{
    static const struct {
        const char *in, *key, *query;
    } cases[] = {
        {"plain/file-1_2.txt~", "plain/file-1_2.txt~", "plain%2Ffile-1_2.txt~"},
        {"a b+c", "a%20b%2Bc", "a%20b%2Bc"},
        {"\xc3\xbc/\xe2\x82\xac", "%C3%BC/%E2%82%AC", "%C3%BC%2F%E2%82%AC"},
        {"!*'();:@&=$,?#[]%", "%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%3F%23%5B%5D%25",
         "%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%3F%23%5B%5D%25"},
        {"../x/./y", "../x/./y", "..%2Fx%2F.%2Fy"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *k = weft_s3_uri_encode(cases[i].in, true),
             *q = weft_s3_uri_encode(cases[i].in, false);
        cr_expect_str_eq(k, cases[i].key);
        cr_expect_str_eq(q, cases[i].query);
        free(k);
        free(q);
    }
}

Test(s3, bucket_names_follow_s3s_rules)
{
    const char *good[] = {"abc", "weft-test", "my.bucket.2", "0-0"};
    const char *bad[] = {
        "ab",    "Upper",  "under_score",
        "-lead", "trail-", "a/b",
        "a?b",   "a b",    "x234567890123456789012345678901234567890123456789012345678901234"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_expect(weft_s3_bucket_valid(good[i]), "%s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect(!weft_s3_bucket_valid(bad[i]), "%s", bad[i]);
}

Test(s3, forbidden_and_missing_are_permanent_throttling_and_5xx_transient)
{
    cr_expect_eq(weft_s3_status_result(200, NULL), WEFT_TASK_OK);
    cr_expect_eq(weft_s3_status_result(206, NULL), WEFT_TASK_OK);
    cr_expect_eq(weft_s3_status_result(403, "SignatureDoesNotMatch"), WEFT_TASK_PERMANENT);
    cr_expect_eq(weft_s3_status_result(403, "AccessDenied"), WEFT_TASK_PERMANENT);
    cr_expect_eq(weft_s3_status_result(404, "NoSuchKey"), WEFT_TASK_PERMANENT);
    cr_expect_eq(weft_s3_status_result(301, "PermanentRedirect"), WEFT_TASK_PERMANENT);
    cr_expect_eq(weft_s3_status_result(400, "InvalidToken"), WEFT_TASK_PERMANENT);
    cr_expect_eq(weft_s3_status_result(503, "SlowDown"), WEFT_TASK_TRANSIENT);
    cr_expect_eq(weft_s3_status_result(500, NULL), WEFT_TASK_TRANSIENT);
    cr_expect_eq(weft_s3_status_result(429, NULL), WEFT_TASK_TRANSIENT);
    cr_expect_eq(weft_s3_status_result(400, "RequestTimeout"), WEFT_TASK_TRANSIENT);
    cr_expect_eq(weft_s3_status_result(400, "XAmzContentSHA256Mismatch"), WEFT_TASK_TRANSIENT);
}

/* ---- XML ---- */

static const char list_page[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>b</Name><Prefix/><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
    "<IsTruncated>true</IsTruncated>"
    "<!-- a <Key>in a comment</Key> is no key -->"
    "<Contents><Key>a &amp; b &lt;c&gt; &#xFC;&#8364; &quot;q&apos;</Key>"
    "<Size>12</Size><ETag>&quot;abc&quot;</ETag><Owner><ID>x</ID></Owner></Contents>"
    "<Contents>\n  <Key><![CDATA[raw <b> & ]]>tail</Key>\n  <Size>0</Size>\n</Contents>"
    "<NextContinuationToken>1/a+b=</NextContinuationToken></ListBucketResult>";

Test(s3, xml_elements_are_found_by_whole_name_and_their_text_decoded)
{
    size_t len = strlen(list_page);
    char *t = weft_s3_xml_text(list_page, len, "IsTruncated");
    cr_expect_str_eq(t, "true");
    free(t);
    t = weft_s3_xml_text(list_page, len, "Key");
    cr_expect_str_eq(t, "a & b <c> \xc3\xbc\xe2\x82\xac \"q'", "the comment's Key is skipped");
    free(t);
    t = weft_s3_xml_text(list_page, len, "Prefix");
    cr_expect_str_eq(t, "", "<Prefix/> is empty");
    free(t);
    t = weft_s3_xml_text(list_page, len, "NextContinuationToken");
    cr_expect_str_eq(t, "1/a+b=");
    free(t);
    cr_expect_null(weft_s3_xml_text(list_page, len, "Missing"));

    const char *pos = list_page, *body;
    size_t n, count = 0;
    char *keys[2] = {NULL, NULL};
    while (weft_s3_xml_next(&pos, list_page + len, "Contents", &body, &n) && count < 2)
        keys[count++] = weft_s3_xml_text(body, n, "Key");
    cr_expect_eq(count, 2);
    cr_expect_str_eq(keys[1], "raw <b> & tail", "CDATA is taken as it is");
    free(keys[0]);
    free(keys[1]);
}

Test(s3, malformed_xml_text_is_refused)
{
    const char *bad[] = {"<Key>a<b>c</b></Key>", "<Key>&bogus;</Key>",    "<Key>&#0;</Key>",
                         "<Key>&#xD800;</Key>",  "<Key>&#x110000;</Key>", "<Key>&#12</Key>",
                         "<Key>unterminated"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *t = weft_s3_xml_text(bad[i], strlen(bad[i]), "Key");
        cr_expect_null(t, "%s gave '%s'", bad[i], t ? t : "");
        free(t);
    }
    /* the buffer's length bounds the search: no NUL needed, none read past */
    const char doc[] = "<Code>NoSuchKey</Code>";
    char *t = weft_s3_xml_text(doc, 10, "Code");
    cr_expect_null(t);
    free(t);
}

/* ---- configuration ---- */

Test(s3, missing_credentials_are_permanent_and_name_the_variable)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    expect_failure("s3.list", "{\"bucket\": \"weft-test\"}", WEFT_TASK_PERMANENT,
                   "AWS_ACCESS_KEY_ID is not set");
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "", 1);
    expect_failure("s3.get", "{\"bucket\": \"weft-test\", \"key\": \"k\"}", WEFT_TASK_PERMANENT,
                   "AWS_SECRET_ACCESS_KEY is not set");
}

Test(s3, endpoint_and_region_come_from_the_environment)
{
    weft_s3_config cfg;
    char err[256];
    cr_assert_eq(weft_s3_config_init(&cfg, "t", err, sizeof err), WEFT_TASK_OK, "%s", err);
    cr_expect_str_eq(cfg.endpoint, "https://s3.us-east-1.amazonaws.com");
    cr_expect_str_eq(cfg.region, "us-east-1");
    cr_expect_null(cfg.session_token);
    weft_s3_config_finish(&cfg);

    setenv("AWS_REGION", "eu-west-3", 1);
    setenv("AWS_SESSION_TOKEN", "tok", 1);
    setenv("WEFT_S3_ENDPOINT", "http://127.0.0.1:9000/", 1);
    cr_assert_eq(weft_s3_config_init(&cfg, "t", err, sizeof err), WEFT_TASK_OK, "%s", err);
    cr_expect_str_eq(cfg.endpoint, "http://127.0.0.1:9000");
    cr_expect_str_eq(cfg.region, "eu-west-3");
    cr_expect_str_eq(cfg.session_token, "tok");
    weft_s3_config_finish(&cfg);
}

Test(s3, a_bad_endpoint_or_region_is_permanent_and_shows_no_password)
{
    const char *bad[] = {"ftp://host", "http://host/prefix", "http://host?x=1",
                         "http://user:" SECRET "@host", "not a url"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("WEFT_S3_ENDPOINT", bad[i], 1);
        expect_failure("s3.list", "{\"bucket\": \"weft-test\"}", WEFT_TASK_PERMANENT,
                       "WEFT_S3_ENDPOINT");
    }
    unsetenv("WEFT_S3_ENDPOINT");
    setenv("AWS_REGION", "us-east-1/../x", 1);
    expect_failure("s3.list", "{\"bucket\": \"weft-test\"}", WEFT_TASK_PERMANENT, "AWS_REGION");
}

/* ---- arguments ---- */

Test(s3, bad_arguments_are_permanent_and_name_the_field)
{
    expect_failure("s3.list", "{}", WEFT_TASK_PERMANENT, "'bucket'");
    expect_failure("s3.list", "{\"bucket\": \"Bad_Name\"}", WEFT_TASK_PERMANENT, "'bucket'");
    expect_failure("s3.list", "{\"bucket\": \"weft-test\", \"prefix\": 3}", WEFT_TASK_PERMANENT,
                   "'prefix'");
    expect_failure("s3.list", "{\"bucket\": \"weft-test\", \"page_size\": 0}", WEFT_TASK_PERMANENT,
                   "'page_size'");
    expect_failure("s3.get", "{\"bucket\": \"weft-test\"}", WEFT_TASK_PERMANENT, "'key'");
    expect_failure("s3.get", "{\"bucket\": \"weft-test\", \"key\": \"\"}", WEFT_TASK_PERMANENT,
                   "'key'");
    expect_failure("s3.get", "{\"bucket\": \"weft-test\", \"key\": \"k\", \"path\": 1}",
                   WEFT_TASK_PERMANENT, "'path'");
    expect_failure("s3.put", "{\"bucket\": \"weft-test\", \"key\": \"k\"}", WEFT_TASK_PERMANENT,
                   "'path'");
}

Test(s3, paths_stay_inside_the_data_dir)
{
    expect_failure("s3.get",
                   "{\"bucket\": \"weft-test\", \"key\": \"k\", \"path\": \"../outside\"}",
                   WEFT_TASK_PERMANENT, "escapes the data dir");
    expect_failure("s3.put",
                   "{\"bucket\": \"weft-test\", \"key\": \"k\", \"path\": \"/etc/passwd\"}",
                   WEFT_TASK_PERMANENT, "escapes the data dir");
    expect_failure("s3.get", "{\"bucket\": \"weft-test\", \"key\": \"folder/\"}",
                   WEFT_TASK_PERMANENT, "give 'path'");
    expect_failure("s3.get", "{\"bucket\": \"weft-test\", \"key\": \"a/..\"}", WEFT_TASK_PERMANENT,
                   "give 'path'");
}

/* A loopback port with nothing listening on it. */
static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    cr_assert(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    cr_assert(getsockname(s, (struct sockaddr *)&a, &n) == 0);
    close(s);
    return ntohs(a.sin_port);
}

Test(s3, a_refused_connection_is_transient_and_leaves_no_file)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", closed_port());
    setenv("WEFT_S3_ENDPOINT", endpoint, 1);
    expect_failure("s3.get", "{\"bucket\": \"weft-test\", \"key\": \"dir/k.bin\"}",
                   WEFT_TASK_TRANSIENT, "GET s3://weft-test/dir/k.bin failed");
    expect_failure("s3.list", "{\"bucket\": \"weft-test\"}", WEFT_TASK_TRANSIENT,
                   "GET s3://weft-test failed");
    char folder[128];
    snprintf(folder, sizeof folder, "%s/00000000-0000-4000-8000-000000000001", data_dir);
    DIR *d = opendir(folder);
    cr_assert_not_null(d, "the workflow's folder was made");
    struct dirent *e;
    while ((e = readdir(d)))
        cr_expect(e->d_name[0] == '.' && (!e->d_name[1] || strcmp(e->d_name, "..") == 0),
                  "nothing left behind, found %s", e->d_name);
    closedir(d);
}

/* ---- the pieces it is built from ---- */

Test(s3, sha256_in_pieces_matches_the_known_digest)
{
    weft_sha256 h;
    char hex[WEFT_SHA256_HEX_LEN + 1];
    weft_sha256_init(&h);
    weft_sha256_update(&h, "a", 1);
    weft_sha256_update(&h, "bc", 2);
    weft_sha256_final_hex(&h, hex);
    cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    weft_sha256_init(&h);
    weft_sha256_final_hex(&h, hex);
    cr_expect_str_eq(hex, WEFT_S3_EMPTY_SHA256);
}

Test(s3, a_data_file_appears_whole_on_commit_and_not_at_all_on_abort)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/out.txt", data_dir);
    weft_data_file df;
    cr_assert_eq(weft_data_file_open(&df, "t", path, err, sizeof err), WEFT_TASK_OK, "%s", err);
    fputs("hello", df.f);
    cr_expect_neq(access(path, F_OK), 0, "not there before commit");
    cr_assert_eq(weft_data_file_commit(&df, "t", err, sizeof err), WEFT_TASK_OK, "%s", err);
    FILE *f = fopen(path, "r");
    char buf[16] = "";
    cr_assert_not_null(f);
    cr_expect_not_null(fgets(buf, sizeof buf, f));
    fclose(f);
    cr_expect_str_eq(buf, "hello");

    snprintf(path, sizeof path, "%s/never.txt", data_dir);
    cr_assert_eq(weft_data_file_open(&df, "t", path, err, sizeof err), WEFT_TASK_OK, "%s", err);
    fputs("half", df.f);
    weft_data_file_abort(&df);
    cr_expect_neq(access(path, F_OK), 0);
    DIR *d = opendir(data_dir);
    struct dirent *e;
    while ((e = readdir(d)))
        cr_expect(strncmp(e->d_name, ".weft-partial-", 14) != 0, "left %s", e->d_name);
    closedir(d);
}

/* The built-in tasks, called through the registry as the activity consumer calls them. */
#include "clock.h"
#include "tasks.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static weft_task_registry *registry;
static char data_dir[64];
static char outside_dir[64];

static void setup(void)
{
    weft_tasks_global_init();
    registry = weft_task_registry_create();
    weft_tasks_register_builtin(registry);
    strcpy(data_dir, "/tmp/weft-tasks-data-XXXXXX");
    strcpy(outside_dir, "/tmp/weft-tasks-outside-XXXXXX");
    cr_assert_not_null(mkdtemp(data_dir));
    cr_assert_not_null(mkdtemp(outside_dir));
}

static void teardown(void)
{
    weft_task_registry_destroy(registry);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", data_dir, outside_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(tasks, .init = setup, .fini = teardown);

typedef struct {
    weft_task_result result;
    json_t *output; /* new, or NULL */
    char err[512];
} run_result;

/* Runs task with the given input (JSON text) at attempt, with the test's data dir. */
static run_result run_at(const char *task, const char *input_json, int attempt)
{
    weft_task_fn fn = weft_task_lookup(registry, task);
    cr_assert_not_null(fn, "task %s is registered", task);
    json_error_t jerr;
    json_t *input = json_loads(input_json, 0, &jerr);
    cr_assert_not_null(input, "test input parses: %s", jerr.text);
    weft_task_ctx ctx = {.workflow_uid = "00000000-0000-4000-8000-000000000001",
                         .activity_uid = "00000000-0000-4000-8000-000000000002",
                         .activity_name = "act",
                         .attempt = attempt,
                         .input = input,
                         .params = input,
                         .upstream = NULL,
                         .data_dir = data_dir};
    run_result r = {.output = NULL};
    r.result = fn(&ctx, &r.output, r.err, sizeof r.err);
    json_decref(input);
    if (r.result == WEFT_TASK_OK)
        cr_assert(json_is_object(r.output), "%s returns an object on success", task);
    return r;
}

static run_result run(const char *task, const char *input_json)
{
    return run_at(task, input_json, 1);
}

static void assert_json_eq(json_t *got, const char *want_json)
{
    json_t *want = json_loads(want_json, 0, NULL);
    cr_assert_not_null(want);
    char *got_s = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    cr_assert(json_equal(got, want), "got %s, want %s", got_s, want_json);
    free(got_s);
    json_decref(want);
}

static void assert_fails(run_result r, weft_task_result want, const char *msg_part)
{
    cr_assert_eq(r.result, want, "result %d (want %d), message: %s", r.result, want, r.err);
    cr_assert_null(r.output);
    cr_assert_not_null(strstr(r.err, msg_part), "message '%s' mentions '%s'", r.err, msg_part);
}

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "create %s", path);
    fputs(content, f);
    fclose(f);
}

/* ---- registry ---- */

Test(tasks, every_builtin_is_registered)
{
    const char *names[] = {"noop",         "sleep",        "fail",    "http.fetch", "file.load",
                           "text.replace", "text.summary", "s3.list", "s3.get",     "s3.put"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert_not_null(weft_task_lookup(registry, names[i]), "%s", names[i]);
}

/* ---- noop, sleep ---- */

Test(tasks, noop_outputs_a_copy_of_its_input)
{
    run_result r = run("noop", "{\"a\": 1, \"b\": {\"c\": [1, 2]}}");
    cr_assert_eq(r.result, WEFT_TASK_OK);
    assert_json_eq(r.output, "{\"a\": 1, \"b\": {\"c\": [1, 2]}}");
    json_decref(r.output);
}

Test(tasks, sleep_waits_ms_and_reports_it)
{
    int64_t start = weft_clock_ms();
    run_result r = run("sleep", "{\"ms\": 120, \"x\": \"y\"}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    cr_assert_geq(weft_clock_ms() - start, 120);
    assert_json_eq(r.output, "{\"ms\": 120, \"x\": \"y\", \"slept_ms\": 120}");
    json_decref(r.output);
}

Test(tasks, sleep_defaults_to_zero_ms)
{
    run_result r = run("sleep", "{}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    assert_json_eq(r.output, "{\"slept_ms\": 0}");
    json_decref(r.output);
}

Test(tasks, sleep_with_non_integer_ms_fails_permanently_naming_the_field)
{
    assert_fails(run("sleep", "{\"ms\": \"100\"}"), WEFT_TASK_PERMANENT, "'ms'");
    assert_fails(run("sleep", "{\"ms\": 1.5}"), WEFT_TASK_PERMANENT, "'ms'");
    assert_fails(run("sleep", "{\"ms\": -1}"), WEFT_TASK_PERMANENT, "'ms'");
}

/* ---- fail ---- */

Test(tasks, fail_defaults_to_permanent_with_default_message)
{
    assert_fails(run("fail", "{}"), WEFT_TASK_PERMANENT, "fail task");
}

Test(tasks, fail_with_transient_code_and_message)
{
    assert_fails(run("fail", "{\"code\": \"TRANSIENT\", \"message\": \"flaky upstream\"}"),
                 WEFT_TASK_TRANSIENT, "flaky upstream");
}

Test(tasks, fail_with_unknown_code_is_permanent_naming_the_field)
{
    assert_fails(run("fail", "{\"code\": \"SOMETIMES\"}"), WEFT_TASK_PERMANENT, "'code'");
}

Test(tasks, fail_while_file_fails_only_while_the_file_exists)
{
    char flag[128], input[256];
    snprintf(flag, sizeof flag, "%s/flag", data_dir);
    snprintf(input, sizeof input, "{\"while_file\": \"%s\", \"code\": \"TRANSIENT\", \"k\": 1}",
             flag);
    write_file(flag, "");
    assert_fails(run("fail", input), WEFT_TASK_TRANSIENT, "fail task");

    cr_assert_eq(unlink(flag), 0);
    run_result r = run("fail", input);
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    cr_assert_eq(json_integer_value(json_object_get(r.output, "k")), 1, "output is the input");
    json_decref(r.output);
}

Test(tasks, fail_while_file_relative_path_counts_from_the_data_dir)
{
    char flag[128];
    snprintf(flag, sizeof flag, "%s/relflag", data_dir);
    write_file(flag, "");
    assert_fails(run("fail", "{\"while_file\": \"relflag\"}"), WEFT_TASK_PERMANENT, "fail task");
    unlink(flag);
    run_result r = run("fail", "{\"while_file\": \"relflag\"}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    json_decref(r.output);
}

Test(tasks, fail_times_fails_the_first_attempts_then_succeeds)
{
    const char *input = "{\"times\": 2, \"code\": \"TRANSIENT\"}";
    assert_fails(run_at("fail", input, 1), WEFT_TASK_TRANSIENT, "fail task");
    assert_fails(run_at("fail", input, 2), WEFT_TASK_TRANSIENT, "fail task");
    run_result r = run_at("fail", input, 3);
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    assert_json_eq(r.output, input);
    json_decref(r.output);
}

Test(tasks, fail_times_and_while_file_must_both_hold_to_fail)
{
    char flag[128], input[256];
    snprintf(flag, sizeof flag, "%s/flag", data_dir);
    snprintf(input, sizeof input, "{\"while_file\": \"%s\", \"times\": 1}", flag);

    write_file(flag, "");
    assert_fails(run_at("fail", input, 1), WEFT_TASK_PERMANENT, "fail task");
    run_result r = run_at("fail", input, 2); /* file there, but attempts used up */
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    json_decref(r.output);

    unlink(flag);
    r = run_at("fail", input, 1); /* attempt counts, but no file */
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    json_decref(r.output);
}

Test(tasks, fail_with_non_integer_times_is_permanent_naming_the_field)
{
    assert_fails(run("fail", "{\"times\": \"2\"}"), WEFT_TASK_PERMANENT, "'times'");
}

/* ---- text.replace ---- */

Test(tasks, text_replace_replaces_every_occurrence_left_to_right)
{
    run_result r = run("text.replace", "{\"content\": \"foo bar foo\", \"from\": \"foo\", "
                                       "\"to\": \"baz\"}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    assert_json_eq(r.output, "{\"content\": \"baz bar baz\", \"replacements\": 2}");
    json_decref(r.output);
}

Test(tasks, text_replace_does_not_overlap_matches)
{
    run_result r = run("text.replace", "{\"content\": \"aaaaa\", \"from\": \"aa\", \"to\": \"b\"}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    assert_json_eq(r.output, "{\"content\": \"bba\", \"replacements\": 2}");
    json_decref(r.output);
}

Test(tasks, text_replace_with_empty_to_deletes_and_without_match_keeps_content)
{
    run_result r = run("text.replace", "{\"content\": \"a-b-c\", \"from\": \"-\", \"to\": \"\"}");
    assert_json_eq(r.output, "{\"content\": \"abc\", \"replacements\": 2}");
    json_decref(r.output);
    r = run("text.replace", "{\"content\": \"abc\", \"from\": \"x\", \"to\": \"y\"}");
    assert_json_eq(r.output, "{\"content\": \"abc\", \"replacements\": 0}");
    json_decref(r.output);
    r = run("text.replace", "{\"content\": \"\", \"from\": \"x\", \"to\": \"y\"}");
    assert_json_eq(r.output, "{\"content\": \"\", \"replacements\": 0}");
    json_decref(r.output);
}

Test(tasks, text_replace_handles_utf8_and_growth)
{
    run_result r =
        run("text.replace", "{\"content\": \"caf\\u00e9 caf\\u00e9\", \"from\": \"\\u00e9\", "
                            "\"to\": \"e\\u0301!\"}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    assert_json_eq(r.output, "{\"content\": \"cafe\\u0301! cafe\\u0301!\", \"replacements\": 2}");
    json_decref(r.output);
}

Test(tasks, text_replace_rejects_empty_from_and_missing_fields)
{
    assert_fails(run("text.replace", "{\"content\": \"x\", \"from\": \"\", \"to\": \"y\"}"),
                 WEFT_TASK_PERMANENT, "'from'");
    assert_fails(run("text.replace", "{\"from\": \"a\", \"to\": \"y\"}"), WEFT_TASK_PERMANENT,
                 "'content'");
    assert_fails(run("text.replace", "{\"content\": \"x\", \"from\": \"a\"}"), WEFT_TASK_PERMANENT,
                 "'to'");
    assert_fails(run("text.replace", "{\"content\": 5, \"from\": \"a\", \"to\": \"b\"}"),
                 WEFT_TASK_PERMANENT, "'content'");
}

/* ---- text.summary ---- */

Test(tasks, text_summary_of_empty_content_is_all_zero)
{
    run_result r = run("text.summary", "{\"content\": \"\"}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    assert_json_eq(r.output, "{\"lines\": 0, \"words\": 0, \"chars\": 0, \"top_words\": []}");
    json_decref(r.output);
}

Test(tasks, text_summary_counts_an_unterminated_last_line)
{
    run_result r = run("text.summary", "{\"content\": \"one two\\nthree\"}");
    assert_json_eq(r.output, "{\"lines\": 2, \"words\": 3, \"chars\": 13, \"top_words\": ["
                             "{\"word\": \"one\", \"count\": 1}, "
                             "{\"word\": \"three\", \"count\": 1}, "
                             "{\"word\": \"two\", \"count\": 1}]}");
    json_decref(r.output);
    r = run("text.summary", "{\"content\": \"a\\nb\\n\"}");
    cr_assert_eq(json_integer_value(json_object_get(r.output, "lines")), 2);
    json_decref(r.output);
    r = run("text.summary", "{\"content\": \"\\n\\n\"}");
    cr_assert_eq(json_integer_value(json_object_get(r.output, "lines")), 2);
    cr_assert_eq(json_integer_value(json_object_get(r.output, "words")), 0);
    json_decref(r.output);
}

Test(tasks, text_summary_counts_repeated_words_case_insensitively)
{
    run_result r = run("text.summary", "{\"content\": \"The cat. the CAT, the dog!\"}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    assert_json_eq(r.output, "{\"lines\": 1, \"words\": 6, \"chars\": 26, \"top_words\": ["
                             "{\"word\": \"the\", \"count\": 3}, "
                             "{\"word\": \"cat\", \"count\": 2}, "
                             "{\"word\": \"dog\", \"count\": 1}]}");
    json_decref(r.output);
}

Test(tasks, text_summary_breaks_ties_alphabetically_and_keeps_five)
{
    run_result r = run("text.summary", "{\"content\": \"g f e d c b a 9 a b\"}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    assert_json_eq(json_object_get(r.output, "top_words"),
                   "[{\"word\": \"a\", \"count\": 2}, {\"word\": \"b\", \"count\": 2}, "
                   "{\"word\": \"9\", \"count\": 1}, {\"word\": \"c\", \"count\": 1}, "
                   "{\"word\": \"d\", \"count\": 1}]");
    json_decref(r.output);
}

Test(tasks, text_summary_counts_code_points_not_bytes)
{
    /* "héllo wörld": 11 code points, 13 bytes; non-ASCII letters split top words */
    run_result r = run("text.summary", "{\"content\": \"h\\u00e9llo w\\u00f6rld\"}");
    cr_assert_eq(json_integer_value(json_object_get(r.output, "chars")), 11);
    cr_assert_eq(json_integer_value(json_object_get(r.output, "words")), 2);
    json_decref(r.output);
}

Test(tasks, text_summary_counts_many_distinct_words)
{
    size_t n = 5000;
    json_t *in = json_object();
    char *text = malloc(n * 8 + 1), *p = text;
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "w%zu ", i % 1000);
    json_object_set_new(in, "content", json_string(text));
    free(text);
    char *in_s = json_dumps(in, 0);
    json_decref(in);
    run_result r = run("text.summary", in_s);
    free(in_s);
    cr_assert_eq(json_integer_value(json_object_get(r.output, "words")), 5000);
    json_t *first = json_array_get(json_object_get(r.output, "top_words"), 0);
    assert_json_eq(first, "{\"word\": \"w0\", \"count\": 5}");
    json_decref(r.output);
}

Test(tasks, text_summary_without_content_is_permanent)
{
    assert_fails(run("text.summary", "{}"), WEFT_TASK_PERMANENT, "'content'");
}

/* ---- file.load ---- */

Test(tasks, file_load_reads_a_file_of_the_data_dir)
{
    char path[128], input[4200], real_dir[4096];
    snprintf(path, sizeof path, "%s/in.txt", data_dir);
    write_file(path, "hello\nworld\n");
    run_result r = run("file.load", "{\"path\": \"in.txt\"}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    cr_assert_str_eq(json_string_value(json_object_get(r.output, "content")), "hello\nworld\n");
    cr_assert_eq(json_integer_value(json_object_get(r.output, "bytes")), 12);
    cr_assert_not_null(realpath(data_dir, real_dir));
    snprintf(input, sizeof input, "%s/in.txt", real_dir);
    cr_assert_str_eq(json_string_value(json_object_get(r.output, "path")), input);
    json_decref(r.output);

    snprintf(input, sizeof input, "{\"path\": \"%s\"}", path); /* absolute, inside */
    r = run("file.load", input);
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    json_decref(r.output);
}

Test(tasks, file_load_rejects_a_relative_path_escaping_the_data_dir)
{
    assert_fails(run("file.load", "{\"path\": \"../../etc/passwd\"}"), WEFT_TASK_PERMANENT,
                 "escapes the data dir");
    assert_fails(run("file.load", "{\"path\": \"../../../../../../../../etc/passwd\"}"),
                 WEFT_TASK_PERMANENT, "escapes the data dir");
}

Test(tasks, file_load_rejects_an_absolute_path_outside_the_data_dir)
{
    char path[128], input[256];
    snprintf(path, sizeof path, "%s/secret.txt", outside_dir);
    write_file(path, "secret");
    snprintf(input, sizeof input, "{\"path\": \"%s\"}", path);
    assert_fails(run("file.load", input), WEFT_TASK_PERMANENT, "escapes the data dir");
    assert_fails(run("file.load", "{\"path\": \"/etc/passwd\"}"), WEFT_TASK_PERMANENT,
                 "escapes the data dir");
}

Test(tasks, file_load_rejects_a_symlink_escaping_the_data_dir)
{
    char target[128], link[128];
    snprintf(target, sizeof target, "%s/secret.txt", outside_dir);
    snprintf(link, sizeof link, "%s/link.txt", data_dir);
    write_file(target, "secret");
    cr_assert_eq(symlink(target, link), 0);
    assert_fails(run("file.load", "{\"path\": \"link.txt\"}"), WEFT_TASK_PERMANENT,
                 "escapes the data dir");

    snprintf(link, sizeof link, "%s/dirlink", data_dir); /* a directory symlink too */
    cr_assert_eq(symlink(outside_dir, link), 0);
    assert_fails(run("file.load", "{\"path\": \"dirlink/secret.txt\"}"), WEFT_TASK_PERMANENT,
                 "escapes the data dir");
}

Test(tasks, file_load_follows_a_symlink_that_stays_inside)
{
    char target[128], link[128];
    snprintf(target, sizeof target, "%s/real.txt", data_dir);
    snprintf(link, sizeof link, "%s/alias.txt", data_dir);
    write_file(target, "inside");
    cr_assert_eq(symlink("real.txt", link), 0);
    run_result r = run("file.load", "{\"path\": \"alias.txt\"}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    cr_assert_str_eq(json_string_value(json_object_get(r.output, "content")), "inside");
    json_decref(r.output);
}

Test(tasks, file_load_over_max_bytes_is_permanent)
{
    char path[128];
    snprintf(path, sizeof path, "%s/big.txt", data_dir);
    write_file(path, "0123456789");
    assert_fails(run("file.load", "{\"path\": \"big.txt\", \"max_bytes\": 9}"), WEFT_TASK_PERMANENT,
                 "max_bytes");
    run_result r = run("file.load", "{\"path\": \"big.txt\", \"max_bytes\": 10}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    json_decref(r.output);
}

Test(tasks, file_load_of_a_missing_file_is_permanent)
{
    assert_fails(run("file.load", "{\"path\": \"nope.txt\"}"), WEFT_TASK_PERMANENT, "nope.txt");
}

Test(tasks, file_load_of_binary_data_is_permanent_not_utf8)
{
    char path[128];
    snprintf(path, sizeof path, "%s/bin.dat", data_dir);
    write_file(path, "\xff\xfe\x80 bytes");
    assert_fails(run("file.load", "{\"path\": \"bin.dat\"}"), WEFT_TASK_PERMANENT,
                 "not UTF-8 text");
}

Test(tasks, file_load_of_a_directory_is_permanent)
{
    char path[128];
    snprintf(path, sizeof path, "%s/sub", data_dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    assert_fails(run("file.load", "{\"path\": \"sub\"}"), WEFT_TASK_PERMANENT,
                 "not a regular file");
}

Test(tasks, file_tasks_without_a_data_dir_fail_permanently)
{
    weft_task_fn fn = weft_task_lookup(registry, "file.load");
    json_t *input = json_pack("{s:s}", "path", "in.txt");
    weft_task_ctx ctx = {.attempt = 1, .input = input, .data_dir = NULL};
    json_t *out = NULL;
    char err[256];
    cr_assert_eq(fn(&ctx, &out, err, sizeof err), WEFT_TASK_PERMANENT);
    cr_assert_not_null(strstr(err, "WEFT_DATA_DIR is not set"), "%s", err);

    fn = weft_task_lookup(registry, "http.fetch");
    json_object_set_new(input, "url", json_string("http://127.0.0.1:1/x"));
    cr_assert_eq(fn(&ctx, &out, err, sizeof err), WEFT_TASK_PERMANENT);
    cr_assert_not_null(strstr(err, "WEFT_DATA_DIR is not set"), "%s", err);
    json_decref(input);
}

/* ---- http.fetch ---- */

Test(tasks, http_fetch_rejects_non_http_urls_permanently)
{
    assert_fails(run("http.fetch", "{\"url\": \"ftp://example.com/x\"}"), WEFT_TASK_PERMANENT,
                 "http:// or https://");
    assert_fails(run("http.fetch", "{\"url\": \"file:///etc/passwd\"}"), WEFT_TASK_PERMANENT,
                 "http:// or https://");
    assert_fails(run("http.fetch", "{}"), WEFT_TASK_PERMANENT, "'url'");
}

Test(tasks, http_fetch_hides_the_password_of_a_url)
{
    run_result r = run("http.fetch", "{\"url\": \"ftp://bob:hunter2@example.com/x\"}");
    cr_assert_eq(r.result, WEFT_TASK_PERMANENT);
    cr_assert_null(strstr(r.err, "hunter2"), "%s", r.err);
}

Test(tasks, http_fetch_rejects_a_path_escaping_the_data_dir)
{
    assert_fails(run("http.fetch", "{\"url\": \"http://127.0.0.1:1/\", \"path\": \"../x\"}"),
                 WEFT_TASK_PERMANENT, "escapes the data dir");
}

/* A one-connection HTTP server on 127.0.0.1 answering each request with `response`. */
typedef struct {
    int fd;
    int port;
    const char *response;
    size_t response_len;
    int connections;
    pthread_t thread;
} canned_server;

static void *serve(void *arg)
{
    canned_server *s = arg;
    for (int i = 0; i < s->connections; i++) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char req[4096];
        size_t got = 0;
        while (got < sizeof req - 1) { /* read the request head */
            ssize_t n = read(c, req + got, sizeof req - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            req[got] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        for (size_t off = 0; off < s->response_len;) {
            ssize_t n = write(c, s->response + off, s->response_len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        close(c);
    }
    return NULL;
}

static void server_start(canned_server *s, const char *response, size_t len, int connections)
{
    s->response = response;
    s->response_len = len;
    s->connections = connections;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(s->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(s->fd, 4), 0);
    socklen_t alen = sizeof a;
    cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(canned_server *s)
{
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static run_result fetch_from(canned_server *s, const char *extra)
{
    char input[256];
    snprintf(input, sizeof input, "{\"url\": \"http://127.0.0.1:%d/in.txt\"%s}", s->port, extra);
    return run("http.fetch", input);
}

Test(tasks, http_fetch_writes_the_body_into_the_data_dir)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 11\r\nConnection: close\r\n\r\nhello world";
    canned_server s;
    server_start(&s, resp, sizeof resp - 1, 1);
    run_result r = fetch_from(&s, ", \"path\": \"got.txt\"");
    server_stop(&s);
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    cr_assert_eq(json_integer_value(json_object_get(r.output, "bytes")), 11);
    cr_assert_eq(json_integer_value(json_object_get(r.output, "status")), 200);
    cr_assert_str_eq(json_string_value(json_object_get(r.output, "content_type")), "text/plain");
    const char *path = json_string_value(json_object_get(r.output, "path"));
    cr_assert_eq(path[0], '/');
    cr_assert_not_null(strstr(path, "/got.txt"));
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char body[64] = "";
    size_t n = fread(body, 1, sizeof body - 1, f);
    fclose(f);
    cr_assert_eq(n, 11);
    cr_assert_str_eq(body, "hello world");
    json_decref(r.output);

    /* file.load picks it up, as in the file pipeline */
    r = run("file.load", "{\"path\": \"got.txt\"}");
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    json_decref(r.output);
}

Test(tasks, http_fetch_default_path_is_named_for_the_activity)
{
    static const char resp[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    canned_server s;
    server_start(&s, resp, sizeof resp - 1, 1);
    run_result r = fetch_from(&s, "");
    server_stop(&s);
    cr_assert_eq(r.result, WEFT_TASK_OK, "%s", r.err);
    cr_assert_not_null(strstr(json_string_value(json_object_get(r.output, "path")),
                              "/fetch-00000000-0000-4000-8000-000000000002.bin"));
    cr_assert(json_is_null(json_object_get(r.output, "content_type")));
    json_decref(r.output);
}

Test(tasks, http_fetch_404_is_permanent_and_leaves_no_file)
{
    static const char resp[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    canned_server s;
    server_start(&s, resp, sizeof resp - 1, 1);
    run_result r = fetch_from(&s, ", \"path\": \"missing.txt\"");
    server_stop(&s);
    assert_fails(r, WEFT_TASK_PERMANENT, "answered 404");
    cr_assert_not_null(strstr(r.err, "GET http://127.0.0.1:"), "%s", r.err);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", data_dir);
    cr_assert_eq(system(cmd), 0, "the data dir holds no file or temp file");
}

Test(tasks, http_fetch_503_is_transient)
{
    static const char resp[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n";
    canned_server s;
    server_start(&s, resp, sizeof resp - 1, 1);
    run_result r = fetch_from(&s, "");
    server_stop(&s);
    assert_fails(r, WEFT_TASK_TRANSIENT, "answered 503");
}

Test(tasks, http_fetch_over_max_bytes_is_permanent)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n0123456789";
    canned_server s;
    server_start(&s, resp, sizeof resp - 1, 1); /* no Content-Length: caught while reading */
    run_result r = fetch_from(&s, ", \"max_bytes\": 5");
    server_stop(&s);
    assert_fails(r, WEFT_TASK_PERMANENT, "response over max_bytes");

    static const char resp_cl[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
                                  "Connection: close\r\n\r\n0123456789";
    server_start(&s, resp_cl, sizeof resp_cl - 1, 1); /* Content-Length: refused up front */
    r = fetch_from(&s, ", \"max_bytes\": 5");
    server_stop(&s);
    assert_fails(r, WEFT_TASK_PERMANENT, "response over max_bytes");
}

Test(tasks, http_fetch_refused_connection_is_transient)
{
    canned_server s;
    server_start(&s, "", 0, 0); /* learn a free port, then close it */
    server_stop(&s);
    run_result r = fetch_from(&s, "");
    cr_assert_eq(r.result, WEFT_TASK_TRANSIENT, "%s", r.err);
}

Test(tasks, http_fetch_redirect_to_another_protocol_is_refused)
{
    static const char resp[] = "HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\n"
                               "Content-Length: 0\r\nConnection: close\r\n\r\n";
    canned_server s;
    server_start(&s, resp, sizeof resp - 1, 1);
    run_result r = fetch_from(&s, "");
    server_stop(&s);
    cr_assert_eq(r.result, WEFT_TASK_PERMANENT, "%s", r.err);
}

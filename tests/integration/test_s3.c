/* s3.list, s3.get and s3.put through weft-entry, weft-activity and weft-handoff against an
 * S3 server on loopback that checks every signature (s3_fixture.py: moto behind a relay
 * that answers the first GET of a /flaky/ key 503 SlowDown). The worker's credentials and
 * endpoint come from its environment, as in production. */
#include "harness.h"

#include "alloc.h"
#include "clock.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static harness_procs procs;
static pid_t fixture_pid;
static int fixture_stdin = -1;
static json_t *server; /* the fixture's line: endpoint, bucket, credentials, objects */
static char log_path[256];

static const char *server_str(const char *path)
{
    json_t *v = server;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *part = strtok(buf, "."); part && v; part = strtok(NULL, "."))
        v = json_object_get(v, part);
    cr_assert(json_is_string(v), "the fixture gave no %s", path);
    return json_string_value(v);
}

/* Starts s3_fixture.py with WEFT_TEST_S3_PYTHON, else the python3 on PATH (it needs moto
 * and boto3: without them it says so and the test fails). */
static void start_fixture(void)
{
    int out[2], in[2];
    cr_assert(pipe(out) == 0 && pipe(in) == 0);
    const char *python = getenv("WEFT_TEST_S3_PYTHON");
    char script[1024];
    snprintf(script, sizeof script, "%s", harness_data("../integration/s3_fixture.py"));
    fixture_pid = fork();
    cr_assert(fixture_pid >= 0);
    if (fixture_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        const char *py = python && *python ? python : "python3";
        execlp(py, py, script, (char *)NULL);
        perror("s3 fixture: exec python3");
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    fixture_stdin = in[1]; /* the fixture serves until this closes */
    FILE *f = fdopen(out[0], "r");
    char *line = NULL;
    size_t cap = 0;
    bool got = getline(&line, &cap, f) > 0;
    fclose(f);
    server = got ? json_loads(line, 0, NULL) : NULL;
    free(line);
    cr_assert(server, "the S3 fixture did not start: its reason is on stderr (moto and boto3 "
                      "are needed: pip install 'moto[server]' boto3)");
}

/* The worker's S3 environment: its key pair and session token (NULL: unset). */
static void s3_env(const char *key_id, const char *secret, const char *token)
{
    setenv("WEFT_S3_ENDPOINT", server_str("endpoint"), 1);
    setenv("AWS_REGION", server_str("region"), 1);
    setenv("AWS_ACCESS_KEY_ID", key_id, 1);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    if (token)
        setenv("AWS_SESSION_TOKEN", token, 1);
    else
        unsetenv("AWS_SESSION_TOKEN");
}

static void start_activity(void)
{
    const char *args[] = {"--concurrency", "2", "--log-level", "debug", NULL};
    procs.activity = harness_spawn_logged("weft-activity", args, log_path);
    usleep(300 * 1000);
    cr_assert(harness_alive(procs.activity), "weft-activity exited at start");
}

/* Restarts the worker with the environment s3_env set since. */
static void restart_activity(void)
{
    kill(procs.activity, SIGTERM);
    int status;
    cr_assert_eq(waitpid(procs.activity, &status, 0), procs.activity);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "weft-activity stopped cleanly");
    start_activity();
}

static void up(void)
{
    start_fixture();
    s3_env(server_str("access_key_id"), server_str("secret_access_key"), NULL);
    snprintf(log_path, sizeof log_path, "%s/s3-test-%d.log", getenv("WEFT_DATA_DIR"),
             (int)getpid());
    harness_start(&procs, 2);
    restart_activity(); /* the same worker, with its log kept in log_path */
}

/* Secrets that must never reach a log line or an error. */
static const char *const secret_paths[] = {"secret_access_key", "session.secret_access_key",
                                           "session.session_token"};

static void down(void)
{
    harness_stop(&procs);
    for (size_t i = 0; server && i < sizeof secret_paths / sizeof secret_paths[0]; i++)
        cr_expect_eq(harness_count_lines(log_path, server_str(secret_paths[i])), 0,
                     "no log line holds the %s", secret_paths[i]);
    cr_expect(!server || harness_count_lines(log_path, "s3.") > 0,
              "the log was read: it names s3 tasks");
    unlink(log_path);
    close(fixture_stdin);
    kill(fixture_pid, SIGTERM);
    waitpid(fixture_pid, NULL, 0);
    json_decref(server);
    server = NULL;
}

TestSuite(s3, .init = up, .fini = down, .timeout = 300);

/* Submits a definition of activities (JSON text of the array) and waits for its end. */
static void run(const char *activities, weft_workflow_info *w, char uid[WEFT_UUID_LEN + 1])
{
    char *def = weft_xasprintf("{\"name\":\"s3\",\"activities\":%s}", activities);
    harness_submit(def, NULL, uid);
    free(def);
    harness_wait(uid, 120, w);
}

/* run, asserting that the workflow completed. */
static void run_completed(const char *activities, weft_workflow_info *w,
                          char uid[WEFT_UUID_LEN + 1])
{
    run(activities, w, uid);
    cr_assert_eq(w->status, WEFT_WORKFLOW_COMPLETED, "error: %s", w->error ? w->error : "");
}

/* The output of a leaf activity (borrowed from w). */
static json_t *output_of(const weft_workflow_info *w, const char *name)
{
    json_t *o = json_object_get(w->output, name);
    cr_assert(json_is_object(o), "activity %s has an output", name);
    return o;
}

/* The output of any activity of workflow uid, leaf or not (new reference). */
static json_t *stored_output(const char *uid, const char *name)
{
    const char *p[] = {uid, name};
    char *text = harness_sql_value(
        "SELECT output::text FROM weft_activity WHERE workflow_uid = $1 AND name = $2", 2, p);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    cr_assert(json_is_object(o), "activity %s has an output", name);
    return o;
}

/* The errors of an activity's attempts, in order (new array of strings). */
static json_t *attempt_errors(const char *uid, const char *name)
{
    json_t *acts = harness_activities(uid), *errors = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(harness_activity(acts, name), "attempts"), i, a)
    {
        const char *e = json_string_value(json_object_get(a, "error"));
        json_array_append_new(errors, json_string(e ? e : ""));
    }
    json_decref(acts);
    return errors;
}

static void expect_no_secret(const char *text)
{
    for (size_t i = 0; i < sizeof secret_paths / sizeof secret_paths[0]; i++)
        cr_expect(!strstr(text, server_str(secret_paths[i])), "no %s in '%s'", secret_paths[i],
                  text);
}

/* run, asserting that the workflow failed with an error that holds part and no secret. */
static void run_failed(const char *activities, const char *part, weft_workflow_info *w,
                       char uid[WEFT_UUID_LEN + 1])
{
    run(activities, w, uid);
    cr_assert_eq(w->status, WEFT_WORKFLOW_FAILED);
    cr_expect(strstr(w->error, part), "'%s' holds '%s'", w->error, part);
    expect_no_secret(w->error);
}

/* The SHA-256 of a file as sha256sum computes it (static buffer). */
static const char *sha256sum(const char *path)
{
    static char hex[65];
    char *cmd = weft_xasprintf("sha256sum '%s'", path), *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 0, "%s", cmd);
    snprintf(hex, sizeof hex, "%.64s", out);
    free(out);
    free(cmd);
    return hex;
}

Test(s3, list_reads_every_page)
{
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run("[{\"name\":\"all\",\"task\":\"s3.list\",\"params\":{\"bucket\":\"weft-test\","
        "\"prefix\":\"many/\"}},"
        "{\"name\":\"small_pages\",\"task\":\"s3.list\",\"params\":{\"bucket\":\"weft-test\","
        "\"prefix\":\"many/00\",\"page_size\":7}}]",
        &w, uid);
    json_t *all = json_object_get(output_of(&w, "all"), "objects");
    cr_assert_eq(json_array_size(all), (size_t)json_integer_value(json_object_get(server, "many")),
                 "1100 keys: two pages of the server's 1000");
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *o = json_array_get(all, i);
        char want[32];
        snprintf(want, sizeof want, "many/%04zu", i);
        cr_assert_str_eq(json_string_value(json_object_get(o, "key")), want);
        char digits[8];
        cr_assert_eq(json_integer_value(json_object_get(o, "size")),
                     snprintf(digits, sizeof digits, "%zu", i), "its body is its number");
        cr_assert_eq(strlen(json_string_value(json_object_get(o, "etag"))), 32,
                     "an MD5 ETag, unquoted");
    }
    json_t *small = json_object_get(output_of(&w, "small_pages"), "objects");
    cr_assert_eq(json_array_size(small), 100, "15 pages of 7 make the 100 keys of many/00");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(small, 99), "key")),
                     "many/0099");
    weft_workflow_info_finish(&w);
}

Test(s3, get_streams_the_object_into_the_workflows_folder_with_its_sha256)
{
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run_completed("[{\"name\":\"get\",\"task\":\"s3.get\",\"params\":{\"bucket\":\"weft-test\","
                  "\"key\":\"small/3.bin\"}}]",
                  &w, uid);
    json_t *o = output_of(&w, "get");
    const char *path = json_string_value(json_object_get(o, "path"));
    char *want_suffix = weft_xasprintf("/%s/3.bin", uid);
    cr_expect(strstr(path, want_suffix), "%s is the key's base name in the workflow's folder",
              path);
    free(want_suffix);
    cr_expect_eq(json_integer_value(json_object_get(o, "bytes")), 5 * 1024 * 1024);
    const char *sha = json_string_value(json_object_get(o, "sha256"));
    cr_expect_str_eq(
        sha, json_string_value(json_object_get(json_object_get(server, "small"), "small/3.bin")));
    cr_expect_str_eq(sha, sha256sum(path), "the file holds what was hashed");
    cr_expect_eq(strlen(json_string_value(json_object_get(o, "etag"))), 32);
    unlink(path);
    weft_workflow_info_finish(&w);
}

Test(s3, a_key_with_spaces_unicode_and_reserved_characters_is_signed_and_found)
{
    json_t *key = json_object_get(server, "odd_key");
    json_t *acts =
        json_pack("[{s:s, s:s, s:{s:s, s:O}}, {s:s, s:s, s:{s:s, s:s}}]", "name", "get", "task",
                  "s3.get", "params", "bucket", "weft-test", "key", key, "name", "list", "task",
                  "s3.list", "params", "bucket", "weft-test", "prefix", "odd/\u00fc +");
    char *text = json_dumps(acts, JSON_COMPACT);
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run_completed(text, &w, uid);
    free(text);
    json_decref(acts);
    json_t *got = output_of(&w, "get");
    cr_expect_eq(json_integer_value(json_object_get(got, "bytes")), 4);
    const char *path = json_string_value(json_object_get(got, "path"));
    cr_expect(strstr(path, "/\u00fc + ~(1)!*'.txt"), "%s", path);
    json_t *listed = json_object_get(output_of(&w, "list"), "objects");
    cr_assert_eq(json_array_size(listed), 1, "the prefix, encoded in the query, matched");
    cr_expect(json_equal(json_object_get(json_array_get(listed, 0), "key"), key));
    unlink(path);
    weft_workflow_info_finish(&w);
}

Test(s3, put_then_get_round_trips_the_file)
{
    char name[64], path[1024];
    snprintf(name, sizeof name, "up-%d.bin", (int)getpid());
    snprintf(path, sizeof path, "%s/%s", getenv("WEFT_DATA_DIR"), name);
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    for (int i = 0; i < 300000; i++)
        fprintf(f, "%ld\n", (long)i * 7919);
    fclose(f);
    char *acts = weft_xasprintf(
        "[{\"name\":\"put\",\"task\":\"s3.put\",\"params\":{\"bucket\":\"weft-test\","
        "\"key\":\"up/\u00fc %s+copy\",\"path\":\"%s\"}},"
        "{\"name\":\"get\",\"task\":\"s3.get\",\"depends_on\":[\"put\"],\"params\":{"
        "\"bucket\":\"weft-test\",\"key\":\"up/\u00fc %s+copy\",\"path\":\"back-%s\"}}]",
        name, name, name, name);
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run_completed(acts, &w, uid);
    free(acts);
    json_t *put = stored_output(uid, "put"), *get = output_of(&w, "get");
    char want[65];
    snprintf(want, sizeof want, "%s", sha256sum(path));
    cr_expect_str_eq(json_string_value(json_object_get(put, "sha256")), want);
    cr_expect_str_eq(json_string_value(json_object_get(get, "sha256")), want);
    cr_expect(json_equal(json_object_get(put, "bytes"), json_object_get(get, "bytes")));
    cr_expect_str_eq(json_string_value(json_object_get(put, "etag")),
                     json_string_value(json_object_get(get, "etag")));
    unlink(json_string_value(json_object_get(get, "path")));
    unlink(path);
    json_decref(put);
    weft_workflow_info_finish(&w);
}

Test(s3, a_missing_key_is_permanent_and_named_by_s3s_code)
{
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run_failed(
        "[{\"name\":\"get\",\"task\":\"s3.get\",\"params\":{\"bucket\":\"weft-test\","
        "\"key\":\"nope/missing.txt\"},\"retry\":{\"max_retries\":3,\"initial_delay_ms\":50}}]",
        "GET s3://weft-test/nope/missing.txt answered 404 NoSuchKey", &w, uid);
    weft_workflow_info_finish(&w);
    json_t *errors = attempt_errors(uid, "get");
    cr_expect_eq(json_array_size(errors), 1, "a 404 is not retried");
    json_decref(errors);
}

Test(s3, slow_down_then_success_is_retried_and_completes)
{
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run_completed(
        "[{\"name\":\"get\",\"task\":\"s3.get\",\"params\":{\"bucket\":\"weft-test\","
        "\"key\":\"flaky/once.txt\"},\"retry\":{\"max_retries\":2,\"initial_delay_ms\":100}}]",
        &w, uid);
    cr_expect_eq(json_integer_value(json_object_get(output_of(&w, "get"), "bytes")), 10);
    unlink(json_string_value(json_object_get(output_of(&w, "get"), "path")));
    weft_workflow_info_finish(&w);
    json_t *errors = attempt_errors(uid, "get");
    cr_assert_eq(json_array_size(errors), 2, "one 503, then success");
    const char *first = json_string_value(json_array_get(errors, 0));
    cr_expect(strstr(first, "answered 503 SlowDown: Please reduce your request rate."), "%s",
              first);
    json_decref(errors);
}

Test(s3, a_wrong_secret_is_refused_by_the_server_and_not_retried)
{
    char *wrong = weft_xasprintf("x%s", server_str("secret_access_key") + 1);
    s3_env(server_str("access_key_id"), wrong, NULL);
    restart_activity();
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run_failed("[{\"name\":\"list\",\"task\":\"s3.list\",\"params\":{\"bucket\":\"weft-test\"},"
               "\"retry\":{\"max_retries\":3,\"initial_delay_ms\":50}}]",
               "answered 403 SignatureDoesNotMatch", &w, uid);
    cr_expect(!strstr(w.error, wrong), "the secret in use is not in '%s'", w.error);
    weft_workflow_info_finish(&w);
    json_t *errors = attempt_errors(uid, "list");
    cr_expect_eq(json_array_size(errors), 1, "PERMANENT");
    json_decref(errors);
    cr_expect_eq(harness_count_lines(log_path, wrong), 0, "nor in the log");
    free(wrong);
}

Test(s3, a_session_token_signs_along_and_a_wrong_one_is_refused)
{
    s3_env(server_str("session.access_key_id"), server_str("session.secret_access_key"),
           server_str("session.session_token"));
    restart_activity();
    const char *list = "[{\"name\":\"list\",\"task\":\"s3.list\",\"params\":{\"bucket\":"
                       "\"weft-test\",\"prefix\":\"small/\"}}]";
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run_completed(list, &w, uid);
    cr_expect_eq(json_array_size(json_object_get(output_of(&w, "list"), "objects")), 8);
    weft_workflow_info_finish(&w);

    s3_env(server_str("session.access_key_id"), server_str("session.secret_access_key"),
           "not-the-token");
    restart_activity();
    run_failed(list, "answered 400 InvalidToken", &w, uid);
    weft_workflow_info_finish(&w);
}

/* The largest resident set (VmHWM, KiB) that process pid has had. */
static long peak_rss_kib(pid_t pid)
{
    long peak = 0;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &peak) == 1)
            break;
    if (f)
        fclose(f);
    return peak;
}

/* The largest peak RSS among the children of pid (the worker's task processes, where the
 * built-in tasks run); *n is how many there are. */
static long children_peak_rss_kib(pid_t pid, int *n)
{
    long peak = 0;
    *n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int child = atoi(e->d_name), parent = 0;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", child);
        FILE *s = child > 0 ? fopen(path, "r") : NULL;
        /* pid (comm) state ppid: comm is "weft-task", without spaces or parentheses */
        if (s && fscanf(s, "%*d %*s %*c %d", &parent) == 1 && parent == pid) {
            long rss = peak_rss_kib(child);
            peak = rss > peak ? rss : peak;
            (*n)++;
        }
        if (s)
            fclose(s);
    }
    if (d)
        closedir(d);
    return peak;
}

Test(s3, a_200_mb_object_streams_through_in_little_memory_and_small_gets_run_in_parallel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/big-%d.bin", getenv("WEFT_DATA_DIR"), (int)getpid());
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    static char block[1024 * 1024];
    for (int i = 0; i < 200; i++) {
        memset(block, 'a' + i % 26, sizeof block);
        memcpy(block, &i, sizeof i);
        cr_assert_eq(fwrite(block, 1, sizeof block, f), sizeof block);
    }
    fclose(f);
    char *acts = weft_xasprintf(
        "[{\"name\":\"put\",\"task\":\"s3.put\",\"params\":{\"bucket\":\"weft-test\","
        "\"key\":\"big/200mb.bin\",\"path\":\"%s\"}},"
        "{\"name\":\"get\",\"task\":\"s3.get\",\"depends_on\":[\"put\"],\"params\":{"
        "\"bucket\":\"weft-test\",\"key\":\"big/200mb.bin\"}}]",
        strrchr(path, '/') + 1);
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    double t0 = weft_clock_s();
    run_completed(acts, &w, uid);
    double big_s = weft_clock_s() - t0;
    free(acts);
    json_t *get = output_of(&w, "get");
    cr_expect_eq(json_integer_value(json_object_get(get, "bytes")), 200LL * 1024 * 1024);
    cr_expect_str_eq(json_string_value(json_object_get(get, "sha256")), sha256sum(path));
    int n = 0;
    long task_kib = children_peak_rss_kib(procs.activity, &n);
    long worker_kib = peak_rss_kib(procs.activity);
    fprintf(stderr,
            "s3: put + get of 200 MiB took %.2f s; peak RSS: weft-activity %ld KiB, "
            "its largest task process (of %d) %ld KiB\n",
            big_s, worker_kib, n, task_kib);
    cr_expect_gt(n, 0, "the worker's task processes were found");
    cr_expect_lt(task_kib, 64 * 1024, "streamed: no 200 MiB buffer (peak %ld KiB)", task_kib);
    cr_expect_lt(worker_kib, 64 * 1024, "the worker holds no object either");
    unlink(json_string_value(json_object_get(get, "path")));
    unlink(path);
    weft_workflow_info_finish(&w);

    /* 8 gets of 5 MiB, one workflow, the worker's two slots */
    char defs[4096] = "[";
    for (int i = 0; i < 8; i++)
        snprintf(defs + strlen(defs), sizeof defs - strlen(defs),
                 "%s{\"name\":\"get%d\",\"task\":\"s3.get\",\"params\":{\"bucket\":"
                 "\"weft-test\",\"key\":\"small/%d.bin\"}}",
                 i ? "," : "", i, i);
    strcat(defs, "]");
    t0 = weft_clock_s();
    run_completed(defs, &w, uid);
    double small_s = weft_clock_s() - t0;
    fprintf(stderr, "s3: 8 gets of 5 MiB (concurrency 2) took %.2f s, submit to completed\n",
            small_s);
    for (int i = 0; i < 8; i++) {
        char name[16], key[32];
        snprintf(name, sizeof name, "get%d", i);
        snprintf(key, sizeof key, "small/%d.bin", i);
        json_t *o = output_of(&w, name);
        cr_expect_str_eq(json_string_value(json_object_get(o, "sha256")),
                         json_string_value(json_object_get(json_object_get(server, "small"), key)));
        unlink(json_string_value(json_object_get(o, "path")));
    }
    weft_workflow_info_finish(&w);
}

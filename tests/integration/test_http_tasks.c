/* Http tasks (DESIGN §9) through the real consumers and in direct mode, against a loopback
 * endpoint (http_task_fixture.py) that checks every request's signature: a signed POST's
 * answer flows downstream; a 4xx, a wrong secret, a body that is not an object and a failure
 * result end the activity at once; a 5xx, a refused connection and a timeout are retried by
 * the activity's policy; a shutdown past its grace hands the attempt back. */
#include "harness.h"

#include "alloc.h"
#include "clock.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/weft-http-it-XXXXXX";
static char log_path[300];
static harness_procs procs;
static pid_t http_pid;

static void write_file(const char *name, const char *text)
{
    harness_write_file(dir, name, text);
}

/* A loopback port that nothing listens on. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    cr_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void setup(void)
{
    cr_assert(mkdtemp(dir));
    write_file("secret.txt", "correct horse battery staple\n");
    write_file("wrong.txt", "not the secret\n");
    char secret[400];
    snprintf(secret, sizeof secret, "%s/secret.txt", dir);
    int port, closed = closed_port();
    http_pid = harness_start_fixture("../integration/http_task_fixture.py", secret, &port);
    char *tasks = weft_xasprintf(
        "{\"tasks\": {"
        "\"hook.echo\": {\"http\": \"http://127.0.0.1:%d/echo\", \"secret_file\": \"secret.txt\"},"
        "\"hook.plain\": {\"http\": \"http://127.0.0.1:%d/plain\", \"secret_file\": "
        "\"secret.txt\"},"
        "\"hook.reject\": {\"http\": \"http://127.0.0.1:%d/reject\", \"secret_file\": "
        "\"secret.txt\"},"
        "\"hook.fail\": {\"http\": \"http://127.0.0.1:%d/fail\", \"secret_file\": \"secret.txt\"},"
        "\"hook.notjson\": {\"http\": \"http://127.0.0.1:%d/notjson\", \"secret_file\": "
        "\"secret.txt\"},"
        "\"hook.flaky\": {\"http\": \"http://127.0.0.1:%d/flaky\", \"secret_file\": "
        "\"secret.txt\"},"
        "\"hook.slow\": {\"http\": \"http://127.0.0.1:%d/slow\", \"secret_file\": \"secret.txt\","
        " \"timeout_s\": 1},"
        "\"hook.slowonce\": {\"http\": \"http://127.0.0.1:%d/slowonce\", \"secret_file\": "
        "\"secret.txt\"},"
        "\"hook.hold\": {\"http\": \"http://127.0.0.1:%d/hold\", \"secret_file\": \"secret.txt\"},"
        "\"hook.wrongsecret\": {\"http\": \"http://127.0.0.1:%d/echo\", \"secret_file\": "
        "\"wrong.txt\"},"
        "\"hook.closed\": {\"http\": \"http://127.0.0.1:%d/echo\", \"secret_file\": "
        "\"secret.txt\"}}}",
        port, port, port, port, port, port, port, port, port, port, closed);
    write_file("tasks.json", tasks);
    free(tasks);
    char path[300];
    snprintf(path, sizeof path, "%s/tasks.json", dir);
    /* both read it: entry for the names, the worker for the URLs and secrets */
    setenv("WEFT_TASKS_FILE", path, 1);
    snprintf(log_path, sizeof log_path, "%s/activity.log", dir);
    harness_start_logged(&procs, 2, log_path);
}

static void teardown(void)
{
    harness_stop(&procs);
    kill(http_pid, SIGTERM);
    waitpid(http_pid, NULL, 0);
    char *cmd = weft_xasprintf("cp '%s' '%s.last' 2>/dev/null; rm -rf '%s'", log_path, dir, dir);
    harness_run(cmd, NULL);
    free(cmd);
}

TestSuite(http_tasks, .init = setup, .fini = teardown, .timeout = 120);

/* The endpoint computes a sum from the input; the next one doubles it from its upstream;
 * noop shows what the first one answered. */
static const char echo_flow[] =
    "{\"name\":\"hooks\",\"activities\":["
    "{\"name\":\"calc\",\"task\":\"hook.echo\",\"params\":{\"a\":2,\"b\":3}},"
    "{\"name\":\"double\",\"task\":\"hook.plain\",\"depends_on\":[\"calc\"]},"
    "{\"name\":\"seen\",\"task\":\"noop\",\"depends_on\":[\"calc\"]}]}";

Test(http_tasks, a_signed_post_answer_flows_downstream)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(echo_flow, NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    json_t *dbl = json_object_get(w.output, "double");
    cr_assert_eq(json_integer_value(json_object_get(dbl, "doubled")), 10,
                 "the second endpoint doubled the first one's sum");
    json_t *calc = json_object_get(w.output, "seen");
    cr_assert_eq(json_integer_value(json_object_get(calc, "sum")), 5);
    cr_assert_str_eq(json_string_value(json_object_get(calc, "task")), "hook.echo");
    cr_assert_str_eq(json_string_value(json_object_get(calc, "activity")), "calc");
    cr_assert_eq(json_integer_value(json_object_get(calc, "attempt")), 1);
    weft_workflow_info_finish(&w);
}

Test(http_tasks, each_answer_ends_the_activity_or_is_retried_as_its_kind_says)
{
    static const harness_failure cases[] = {
        {"hook.reject", "answered 422: 'missing field 'who''", 1},
        {"hook.wrongsecret", "answered 401: 'bad signature'", 1},
        {"hook.notjson", "answered 200 with a body that is not a JSON object: 'ok'", 1},
        {"hook.fail", "hook.fail: no such user", 1},
        {"hook.slow", "timed out after 1 s", 2},
        {"hook.closed", "failed: ", 2},
    };
    /* retried once: a TRANSIENT failure makes 2 attempts */
    harness_expect_failures(cases, sizeof cases / sizeof cases[0], ",\"params\":{\"a\":1,\"b\":1}",
                            1);
    cr_assert(harness_alive(procs.activity), "the worker survived them all");
}

Test(http_tasks, a_5xx_and_a_slow_answer_are_retried_until_the_endpoint_answers)
{
    char flaky[WEFT_UUID_LEN + 1], slow[WEFT_UUID_LEN + 1];
    harness_submit_one("hook.flaky", ",\"params\":{\"a\":4,\"b\":5}", 2, flaky);
    /* the activity's own limit: the task file sets none for this task */
    harness_submit_one("hook.slowonce", ",\"params\":{\"a\":6,\"b\":7},\"timeout_s\":1", 2, slow);
    const char *uids[] = {flaky, slow},
               *first[] = {"answered 503: 'try later'", "timed out after 1 s"};
    json_int_t sums[] = {9, 13};
    for (int i = 0; i < 2; i++) {
        weft_workflow_info w;
        harness_wait(uids[i], 60, &w);
        cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
        json_t *h = json_object_get(w.output, "a");
        cr_assert_eq(json_integer_value(json_object_get(h, "sum")), sums[i]);
        cr_assert_eq(json_integer_value(json_object_get(h, "attempt")), 2, "the retry answered");
        weft_workflow_info_finish(&w);
        json_t *acts = harness_activities(uids[i]);
        json_t *att = json_object_get(harness_activity(acts, "a"), "attempts");
        cr_assert_eq(json_array_size(att), 2);
        const char *e = json_string_value(json_object_get(json_array_get(att, 0), "error"));
        cr_assert(e && strstr(e, first[i]), "attempt 1: %s", e ? e : "(none)");
        json_decref(acts);
    }
}

Test(http_tasks, sigterm_past_the_grace_drops_the_post_and_hands_the_attempt_back)
{
    kill(procs.activity, SIGTERM);
    waitpid(procs.activity, NULL, 0);
    const char *args[] = {"--concurrency", "1", "--grace", "1", NULL};
    procs.activity = harness_spawn_logged("weft-activity", args, log_path);
    write_file("hold", ""); /* the endpoint holds its answer while this file exists */
    char uid[WEFT_UUID_LEN + 1];
    char *fields = weft_xasprintf(",\"params\":{\"a\":1,\"b\":2,\"while_file\":\"%s/hold\"}", dir);
    harness_submit_one("hook.hold", fields, 2, uid);
    free(fields);
    json_decref(harness_wait_activity(uid, "a", "running", 10));
    usleep(500 * 1000);
    kill(procs.activity, SIGTERM);
    double t0 = weft_clock_s();
    int status;
    cr_assert_eq(waitpid(procs.activity, &status, 0), procs.activity);
    cr_assert_lt(weft_clock_s() - t0, 4, "the worker stopped soon after its grace");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    harness_wait_lines(log_path, "unfinished at shutdown: handed back", 1, 5, "the hand-back");
    char *hold = weft_xasprintf("%s/hold", dir);
    unlink(hold);
    free(hold);
    const char *args2[] = {"--concurrency", "1", NULL};
    procs.activity = harness_spawn_logged("weft-activity", args2, log_path);
    /* one attempt: the dropped attempt was no failure */
    harness_expect_completed(uid, "a", 1, 60);
}

Test(http_tasks, direct_mode_posts_from_the_tasks_flag)
{
    write_file("hooks.json", echo_flow);
    char *cmd = weft_xasprintf("env -u WEFT_TASKS_FILE '%s' run '%s/hooks.json' --tasks "
                               "'%s/tasks.json' 2>/dev/null",
                               getenv("WEFT_BIN_WEFT"), dir, dir);
    char *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 0, "weft run: %s", out ? out : "");
    json_t *doc = json_loads(out, 0, NULL);
    cr_assert(doc, "the output is JSON: %s", out);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(doc, "double"), "doubled")), 10,
                 "%s", out);
    json_decref(doc);
    free(out);
    free(cmd);
}

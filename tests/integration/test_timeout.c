/* Tasks run apart from the consumer: a timeout or a crash costs one attempt, never the
 * worker, and long tasks do not stall the consumer's connection. */
#include "clock.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static harness_procs procs;
static void up(void)
{
    harness_start(&procs, 2);
}
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(timeout, .init = up, .fini = down, .timeout = 120);

Test(timeout, attempt_past_timeout_is_stopped_and_counts_as_transient)
{
    char uid[WEFT_UUID_LEN + 1];
    double t0 = weft_clock_s();
    harness_submit("{\"name\":\"slowpoke\",\"activities\":["
                   "{\"name\":\"slow\",\"task\":\"sleep\",\"params\":{\"ms\":30000},"
                   "\"timeout_s\":1,\"retry\":{\"max_retries\":1,\"initial_delay_ms\":50}}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_lt(weft_clock_s() - t0, 15, "the 30 s sleeps were cut at 1 s");
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_assert(strstr(w.error, "timed out after 1 s"), "%s", w.error);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    cr_assert_eq(json_array_size(json_object_get(harness_activity(acts, "slow"), "attempts")), 2,
                 "a timeout is TRANSIENT: retried once");
    json_decref(acts);
    cr_assert(harness_alive(procs.activity));
}

Test(timeout, attempt_without_timeout_s_is_stopped_at_the_default_task_timeout)
{
    harness_stop(&procs);
    const char *args[] = {"--concurrency", "1", "--task-timeout", "1", NULL};
    procs.entry = harness_spawn("weft-entry", NULL);
    procs.handoff = harness_spawn("weft-handoff", NULL);
    procs.activity = harness_spawn("weft-activity", args);
    char uid[WEFT_UUID_LEN + 1];
    double t0 = weft_clock_s();
    harness_submit("{\"name\":\"hangs\",\"activities\":["
                   "{\"name\":\"stuck\",\"task\":\"sleep\",\"params\":{\"ms\":30000},"
                   "\"retry\":{\"max_retries\":1,\"initial_delay_ms\":50}}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_lt(weft_clock_s() - t0, 15, "the 30 s sleeps were cut at the 1 s default");
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_assert(strstr(w.error, "timed out after 1 s (the default limit"), "%s", w.error);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    cr_assert_eq(json_array_size(json_object_get(harness_activity(acts, "stuck"), "attempts")), 2,
                 "a timeout is TRANSIENT: retried once");
    json_decref(acts);
    cr_assert(harness_alive(procs.activity));
}

Test(timeout, crashing_task_is_retried_and_the_worker_survives)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"crashy\",\"activities\":["
                   "{\"name\":\"c\",\"task\":\"fail\",\"params\":{\"code\":\"CRASH\",\"times\":1},"
                   "\"retry\":{\"max_retries\":2,\"initial_delay_ms\":50}}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    json_t *att = json_object_get(harness_activity(acts, "c"), "attempts");
    cr_assert_eq(json_array_size(att), 2);
    cr_assert(strstr(json_string_value(json_object_get(json_array_get(att, 0), "error")),
                     "crashed (signal 6"));
    json_decref(acts);
    cr_assert(harness_alive(procs.activity), "the worker outlived its task");
}

Test(timeout, sigterm_lets_running_tasks_finish_without_failed_attempts)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"graceful\",\"activities\":["
                   "{\"name\":\"a\",\"task\":\"sleep\",\"params\":{\"ms\":1500}},"
                   "{\"name\":\"b\",\"task\":\"sleep\",\"params\":{\"ms\":1500}},"
                   "{\"name\":\"after\",\"task\":\"noop\",\"depends_on\":[\"a\",\"b\"]}]}",
                   NULL, uid);
    usleep(500 * 1000); /* both sleeps are running now */
    kill(procs.activity, SIGTERM);
    int status;
    cr_assert_eq(waitpid(procs.activity, &status, 0), procs.activity);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit 0 after finishing");
    const char *args[] = {"--concurrency", "2", NULL};
    procs.activity = harness_spawn("weft-activity", args);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a)
    {
        cr_assert_eq(json_array_size(json_object_get(a, "attempts")), 1,
                     "no attempt failed because of the shutdown (%s)",
                     json_string_value(json_object_get(a, "name")));
    }
    json_decref(acts);
}

Test(timeout, sigterm_past_the_grace_hands_the_attempt_back_unfailed)
{
    harness_stop(&procs);
    const char *args[] = {"--concurrency", "1", "--grace", "1", NULL};
    procs.entry = harness_spawn("weft-entry", NULL);
    procs.handoff = harness_spawn("weft-handoff", NULL);
    procs.activity = harness_spawn("weft-activity", args);
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"toolong\",\"activities\":["
                   "{\"name\":\"long\",\"task\":\"sleep\",\"params\":{\"ms\":4000}}]}",
                   NULL, uid);
    usleep(800 * 1000);
    kill(procs.activity, SIGTERM);
    int status;
    double t0 = weft_clock_s();
    cr_assert_eq(waitpid(procs.activity, &status, 0), procs.activity);
    cr_assert_lt(weft_clock_s() - t0, 3.5, "it gave up after the 1 s grace");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const char *args2[] = {"--concurrency", "1", NULL};
    procs.activity = harness_spawn("weft-activity", args2);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    json_t *att = json_object_get(harness_activity(acts, "long"), "attempts");
    cr_assert_eq(json_array_size(att), 1, "the cut attempt was not counted as a failure");
    json_decref(acts);
}

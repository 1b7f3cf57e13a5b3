/* A permanent failure fails the workflow with the activity's error and cancels what had
 * not started. */
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static harness_procs procs;
static void up(void)
{
    harness_start(&procs, 2);
}
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(failure, .init = up, .fini = down, .timeout = 120);

Test(failure, permanent_failure_fails_workflow_with_error_and_cancels_pending_siblings)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"breaks\",\"activities\":["
                   "{\"name\":\"root\",\"task\":\"noop\"},"
                   "{\"name\":\"boom\",\"task\":\"fail\",\"depends_on\":[\"root\"],"
                   "\"params\":{\"code\":\"PERMANENT\",\"message\":\"disk on fire\"}},"
                   "{\"name\":\"slow\",\"task\":\"sleep\",\"depends_on\":[\"root\"],"
                   "\"params\":{\"ms\":1500}},"
                   "{\"name\":\"after_slow\",\"task\":\"noop\",\"depends_on\":[\"slow\"]},"
                   "{\"name\":\"after_boom\",\"task\":\"noop\",\"depends_on\":[\"boom\"]}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_assert(w.error && strstr(w.error, "boom") && strstr(w.error, "disk on fire"),
              "error names the activity and its message: %s", w.error);
    json_t *acts = harness_activities(uid);
    json_t *boom = harness_activity(acts, "boom");
    cr_assert_str_eq(json_string_value(json_object_get(boom, "status")), "failed");
    cr_assert_eq(json_array_size(json_object_get(boom, "attempts")), 1,
                 "PERMANENT is never retried");
    cr_assert_str_eq(
        json_string_value(json_object_get(harness_activity(acts, "after_boom"), "status")),
        "canceled");
    cr_assert_str_eq(
        json_string_value(json_object_get(harness_activity(acts, "after_slow"), "status")),
        "canceled");
    json_decref(acts);
    weft_workflow_info_finish(&w);

    /* the running sibling finishes, but its result dispatches nothing */
    harness_wait_handled(30);
    acts = harness_activities(uid);
    cr_assert_str_eq(json_string_value(json_object_get(harness_activity(acts, "slow"), "status")),
                     "completed");
    cr_assert_str_eq(
        json_string_value(json_object_get(harness_activity(acts, "after_slow"), "status")),
        "canceled");
    json_decref(acts);
    harness_wait(uid, 5, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    weft_workflow_info_finish(&w);
}

/* Asserts that no activity of workflow uid is left pending, queued, running or retrying. */
static void assert_every_activity_terminal(const char *uid)
{
    json_t *acts = harness_activities(uid);
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a)
    {
        const char *status = json_string_value(json_object_get(a, "status"));
        cr_assert(strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
                      strcmp(status, "canceled") == 0,
                  "activity '%s' is %s in a finished workflow",
                  json_string_value(json_object_get(a, "name")), status);
    }
    json_decref(acts);
}

Test(failure, activity_failing_transient_after_its_workflow_failed_is_settled_not_retried)
{
    char *marker = harness_write_temp("");
    /* 'boom' fails the workflow after 0.3 s while 'slow' runs; 'slow' then times out, a
     * TRANSIENT failure with retries left */
    char def[1024];
    snprintf(def, sizeof def,
             "{\"name\":\"late_transient\",\"activities\":["
             "{\"name\":\"gate\",\"task\":\"sleep\",\"params\":{\"ms\":300}},"
             "{\"name\":\"boom\",\"task\":\"fail\",\"depends_on\":[\"gate\"],"
             "\"params\":{\"code\":\"PERMANENT\","
             "\"message\":\"marker present\",\"while_file\":\"%s\"}},"
             "{\"name\":\"slow\",\"task\":\"sleep\",\"params\":{\"ms\":5000},\"timeout_s\":1,"
             "\"retry\":{\"max_retries\":2,\"initial_delay_ms\":50}}]}",
             marker);
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(def, NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_assert(strstr(w.error, "boom"), "the workflow failed for 'boom': %s", w.error);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    cr_assert_str_eq(json_string_value(json_object_get(harness_activity(acts, "slow"), "status")),
                     "running", "'slow' was still running when the workflow failed");
    json_decref(acts);
    harness_wait_handled(30);
    assert_every_activity_terminal(uid);
    acts = harness_activities(uid);
    json_t *slow = harness_activity(acts, "slow");
    size_t runs = json_array_size(json_object_get(slow, "attempts"));
    cr_assert_eq(runs, 1, "no retry inside a failed workflow");
    json_decref(acts);

    /* resume resets it like any failed activity */
    remove(marker);
    free(marker);
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "'%s' resume %s --wait --timeout 60", getenv("WEFT_BIN_WEFT"), uid);
    int rc = harness_run(cmd, &out);
    cr_assert_neq(rc, 0, "'slow' times out again, so the workflow fails again: %s", out);
    free(out);
    harness_wait(uid, 5, &w);
    cr_assert(strstr(w.error, "slow") && strstr(w.error, "timed out"), "%s", w.error);
    weft_workflow_info_finish(&w);
    harness_wait_handled(30);
    assert_every_activity_terminal(uid);
    acts = harness_activities(uid);
    cr_assert_str_eq(json_string_value(json_object_get(harness_activity(acts, "boom"), "status")),
                     "completed");
    slow = harness_activity(acts, "slow");
    cr_assert_eq(json_array_size(json_object_get(slow, "attempts")), runs + 3,
                 "'slow' ran again with its retries back");
    json_decref(acts);
}

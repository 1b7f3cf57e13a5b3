/* A permanent failure fails the workflow with the activity's error and cancels what had
 * not started. */
#include "harness.h"

#include <criterion/criterion.h>
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

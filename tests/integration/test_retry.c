/* Retries: TRANSIENT errors come back through the delay queues under the policy;
 * exhausted retries and PERMANENT errors fail the workflow. */
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

TestSuite(retry, .init = up, .fini = down, .timeout = 120);

Test(retry, transient_twice_then_success_completes_on_attempt_3_after_policy_delays)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"flaky\",\"activities\":["
                   "{\"name\":\"f\",\"task\":\"fail\",\"params\":{\"code\":\"TRANSIENT\","
                   "\"message\":\"wobble\",\"times\":2},"
                   "\"retry\":{\"max_retries\":3,\"initial_delay_ms\":300,\"backoff\":2.0}},"
                   "{\"name\":\"after\",\"task\":\"noop\",\"depends_on\":[\"f\"]}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    json_t *f = harness_activity(acts, "f");
    cr_assert_eq(json_integer_value(json_object_get(f, "attempt")), 3);
    json_t *attempts = json_object_get(f, "attempts");
    cr_assert_eq(json_array_size(attempts), 3, "a history of every attempt");
    double policy[] = {300, 600};
    for (size_t i = 0; i < 2; i++) {
        json_t *a = json_array_get(attempts, i), *next = json_array_get(attempts, i + 1);
        cr_assert_str_eq(json_string_value(json_object_get(a, "status")), "failed");
        cr_assert(strstr(json_string_value(json_object_get(a, "error")), "wobble"));
        double waited = (json_number_value(json_object_get(next, "started")) -
                         json_number_value(json_object_get(a, "finished"))) *
                        1000.0;
        cr_log_info("retry %zu waited %.0f ms (policy %.0f)", i + 1, waited, policy[i]);
        cr_assert_geq(waited, policy[i], "retry %zu came after %.0f ms, policy says %.0f", i + 1,
                      waited, policy[i]);
    }
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(attempts, 2), "status")),
                     "completed");
    json_decref(acts);
}

Test(retry, exhausted_retries_fail_the_workflow_with_the_last_error)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"hopeless\",\"activities\":["
                   "{\"name\":\"h\",\"task\":\"fail\",\"params\":{\"code\":\"TRANSIENT\","
                   "\"message\":\"still down\"},"
                   "\"retry\":{\"max_retries\":2,\"initial_delay_ms\":50,\"backoff\":1.0}},"
                   "{\"name\":\"never\",\"task\":\"noop\",\"depends_on\":[\"h\"]}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_assert(w.error && strstr(w.error, "still down") && strstr(w.error, "'h'"), "%s", w.error);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    json_t *h = harness_activity(acts, "h");
    cr_assert_eq(json_array_size(json_object_get(h, "attempts")), 3, "1 try + 2 retries");
    cr_assert_str_eq(json_string_value(json_object_get(h, "status")), "failed");
    cr_assert_str_eq(json_string_value(json_object_get(harness_activity(acts, "never"), "status")),
                     "canceled");
    json_decref(acts);
}

Test(retry, permanent_error_is_never_retried_even_with_retries_left)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"perm\",\"activities\":["
                   "{\"name\":\"p\",\"task\":\"fail\",\"params\":{\"code\":\"PERMANENT\"},"
                   "\"retry\":{\"max_retries\":5,\"initial_delay_ms\":50}}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    cr_assert_eq(json_array_size(json_object_get(harness_activity(acts, "p"), "attempts")), 1);
    json_decref(acts);
}

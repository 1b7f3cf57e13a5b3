/* Retries: TRANSIENT errors come back through the delay queues under the policy;
 * exhausted retries and PERMANENT errors fail the workflow. */
#include "harness.h"
#include "message.h"

#include <criterion/criterion.h>
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

/* One TRANSIENT failure, then a retry due 3 s later. */
static const char slow_retry[] =
    "{\"name\":\"slow_retry\",\"activities\":["
    "{\"name\":\"f\",\"task\":\"fail\",\"params\":{\"code\":\"TRANSIENT\",\"times\":1},"
    "\"retry\":{\"max_retries\":1,\"initial_delay_ms\":3000,\"backoff\":1.0}}]}";
#define SLOW_RETRY_MS 3000.0

/* Submits slow_retry, waits until its first attempt failed and the retry waits, then
 * publishes an attempt message for attempt (1: a duplicate of the failed attempt, 2: the
 * retry's message, early) to `default`. */
static void fail_once_then_publish_attempt(int attempt, char uid[WEFT_UUID_LEN + 1])
{
    harness_submit(slow_retry, NULL, uid);
    json_t *acts = harness_wait_activity(uid, "f", "retrying", 30);
    weft_attempt_msg m = {.attempt = attempt};
    snprintf(m.workflow_uid, sizeof m.workflow_uid, "%s", uid);
    snprintf(m.activity_uid, sizeof m.activity_uid, "%s",
             json_string_value(json_object_get(harness_activity(acts, "f"), "uid")));
    json_decref(acts);
    char *body = weft_msg_encode_attempt(&m, NULL);
    harness_publish(WEFT_QUEUE_DEFAULT, body);
    free(body);
}

/* Completion, and attempt 2 started no sooner than the policy's delay after attempt 1. */
static void assert_retry_waited_its_delay(const char *uid)
{
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    json_t *attempts = json_object_get(harness_activity(acts, "f"), "attempts");
    cr_assert_eq(json_array_size(attempts), 2, "one failure, one retry");
    double waited = (json_number_value(json_object_get(json_array_get(attempts, 1), "started")) -
                     json_number_value(json_object_get(json_array_get(attempts, 0), "finished"))) *
                    1000.0;
    cr_assert_geq(waited, SLOW_RETRY_MS,
                  "attempt 2 started %.0f ms after attempt 1 failed, policy %.0f", waited,
                  SLOW_RETRY_MS);
    json_decref(acts);
}

Test(retry, duplicate_of_the_failed_attempt_does_not_cut_the_retry_delay)
{
    char uid[WEFT_UUID_LEN + 1];
    fail_once_then_publish_attempt(1, uid);
    assert_retry_waited_its_delay(uid);
}

Test(retry, early_message_for_the_retry_waits_until_it_is_due)
{
    char uid[WEFT_UUID_LEN + 1];
    fail_once_then_publish_attempt(2, uid);
    assert_retry_waited_its_delay(uid);
}

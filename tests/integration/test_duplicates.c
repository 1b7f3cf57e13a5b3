/* Duplicate messages change nothing the second time (DESIGN §5.3). */
#include "harness.h"
#include "message.h"

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

TestSuite(duplicates, .init = up, .fini = down, .timeout = 120);

static const char chain[] = "{\"name\":\"dup\",\"activities\":["
                            "{\"name\":\"a\",\"task\":\"noop\",\"params\":{\"a\":1}},"
                            "{\"name\":\"b\",\"task\":\"noop\",\"depends_on\":[\"a\"]},"
                            "{\"name\":\"c\",\"task\":\"noop\",\"depends_on\":[\"b\"]}]}";

static void assert_each_ran_once(const char *uid)
{
    json_t *acts = harness_activities(uid);
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a)
    {
        cr_assert_str_eq(json_string_value(json_object_get(a, "status")), "completed");
        cr_assert_eq(json_integer_value(json_object_get(a, "attempt")), 1);
        cr_assert_eq(json_array_size(json_object_get(a, "attempts")), 1,
                     "activity %s ran more than once",
                     json_string_value(json_object_get(a, "name")));
    }
    json_decref(acts);
}

Test(duplicates, same_entry_message_twice_yields_one_workflow_run_once)
{
    json_t *doc = json_loads(chain, 0, NULL);
    json_t *inputs = json_object();
    char uid[WEFT_UUID_LEN + 1];
    weft_uuid_new(uid);
    size_t len;
    char *body = weft_msg_encode_entry(doc, inputs, uid, &len);
    harness_publish(WEFT_QUEUE_ENTRY, body);
    harness_publish(WEFT_QUEUE_ENTRY, body);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    cr_assert_eq(w.total, 3);
    weft_workflow_info_finish(&w);
    /* a re-submit after completion is a no-op too */
    harness_publish(WEFT_QUEUE_ENTRY, body);
    harness_wait_handled(30);
    assert_each_ran_once(uid);
    free(body);
    json_decref(doc);
    json_decref(inputs);
}

Test(duplicates, duplicated_activity_and_handoff_messages_change_nothing)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(chain, NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    char *before = json_dumps(w.output, JSON_SORT_KEYS | JSON_COMPACT);
    weft_workflow_info_finish(&w);

    json_t *acts = harness_activities(uid);
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a)
    {
        weft_attempt_msg m = {.attempt = 1};
        snprintf(m.workflow_uid, sizeof m.workflow_uid, "%s", uid);
        snprintf(m.activity_uid, sizeof m.activity_uid, "%s",
                 json_string_value(json_object_get(a, "uid")));
        char *body = weft_msg_encode_attempt(&m, NULL);
        harness_publish(WEFT_QUEUE_DEFAULT, body);
        harness_publish(WEFT_QUEUE_HANDOFF, body);
        free(body);
    }
    json_decref(acts);
    harness_wait_handled(30);
    assert_each_ran_once(uid);
    harness_wait(uid, 5, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    cr_assert_eq(w.remaining, 0, "completion bookkeeping unchanged");
    char *after = json_dumps(w.output, JSON_SORT_KEYS | JSON_COMPACT);
    cr_assert_str_eq(after, before);
    free(before);
    free(after);
    weft_workflow_info_finish(&w);
}

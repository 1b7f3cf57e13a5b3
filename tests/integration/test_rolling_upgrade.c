/* During a rolling upgrade the consumers of this version receive messages from a newer one:
 * fields they do not know are ignored and the workflow runs (README "Messages"). Here every
 * message of a workflow's life carries such a field: the entry message as submitted, the
 * activity and handoff messages rewritten on their way between the consumers. */
#include "alloc.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static harness_procs procs;
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(rolling_upgrade, .fini = down, .timeout = 120);

/* Takes the message for uid off queue and publishes it again with a field no version of weft
 * knows. */
static void republish_with_unknown_field(const char *queue, const char *uid)
{
    char *body = harness_take(queue, uid, 20);
    cr_assert(body, "no message for %s reached %s", uid, queue);
    json_t *m = json_loads(body, 0, NULL);
    cr_assert(json_is_object(m), "%s", body);
    json_object_set_new(m, "trace_id", json_string("from-weft-next"));
    char *newer = json_dumps(m, JSON_COMPACT);
    harness_publish(queue, newer);
    free(newer);
    json_decref(m);
    free(body);
}

Test(rolling_upgrade, messages_with_unknown_fields_still_run_the_workflow_to_completion)
{
    procs.entry = harness_spawn("weft-entry", NULL);
    char uid[WEFT_UUID_LEN + 1];
    weft_uuid_new(uid);
    char *entry = weft_xasprintf(
        "{\"config\":{\"name\":\"upgrade\",\"activities\":[{\"name\":\"only\",\"task\":\"noop\","
        "\"params\":{\"v\":1}}]},\"inputs\":{},\"workflow_uid\":\"%s\","
        "\"submitted_by\":{\"tool\":\"weft-next\"}}",
        uid);
    harness_publish(WEFT_QUEUE_ENTRY, entry);
    free(entry);

    /* no activity consumer yet: the activity message waits on its queue */
    republish_with_unknown_field(WEFT_QUEUE_DEFAULT, uid);
    procs.activity = harness_spawn("weft-activity", NULL);
    /* no handoff consumer yet: the handoff message waits on its queue */
    republish_with_unknown_field(WEFT_QUEUE_HANDOFF, uid);
    procs.handoff = harness_spawn("weft-handoff", NULL);

    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(w.output, "only"), "v")), 1);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    cr_assert_eq(json_array_size(json_object_get(harness_activity(acts, "only"), "attempts")), 1);
    json_decref(acts);
}

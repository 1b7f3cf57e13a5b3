/* Messages that can never be processed end in weft.dead with a reason; the consumers keep
 * running (DESIGN §5.4). */
#include "harness.h"
#include "message.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static harness_procs procs;
static void up(void)
{
    harness_start(&procs, 2);
}
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(dead_letter, .init = up, .fini = down, .timeout = 120);

static void expect_dead(const char *queue, const char *body, const char *marker,
                        const char *reason_part)
{
    harness_publish(queue, body);
    char *reason = harness_dead_find(marker, 20);
    cr_assert(reason, "message with '%s' sent to %s never reached weft.dead", marker, queue);
    cr_assert(strstr(reason, reason_part), "reason '%s' lacks '%s'", reason, reason_part);
    free(reason);
}

static void expect_alive(void)
{
    cr_assert(harness_alive(procs.entry), "weft-entry died");
    cr_assert(harness_alive(procs.activity), "weft-activity died");
    cr_assert(harness_alive(procs.handoff), "weft-handoff died");
}

Test(dead_letter, malformed_messages_on_every_queue_are_dead_lettered_with_reason)
{
    expect_dead(WEFT_QUEUE_ENTRY, "{not json marker-e1", "marker-e1", "not valid JSON");
    expect_dead(WEFT_QUEUE_ENTRY, "[\"marker-e2\"]", "marker-e2", "must be a JSON object");
    expect_dead(WEFT_QUEUE_DEFAULT, "{\"marker-d1\": 1}", "marker-d1",
                "lacks field 'workflow_uid'");
    expect_dead(WEFT_QUEUE_HANDOFF, "marker-h1 garbage", "marker-h1", "not valid JSON");
    expect_dead(WEFT_QUEUE_HANDOFF,
                "{\"workflow_uid\":\"00000000-0000-4000-8000-000000000001\","
                "\"activity_uid\":\"00000000-0000-4000-8000-0000000000aa\",\"attempt\":1}",
                "0000000000aa", "unknown");
    expect_alive();
}

Test(dead_letter, invalid_definition_creates_nothing_and_names_activity_and_field)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"bad\",\"activities\":["
                   "{\"name\":\"fetch\",\"task\":\"noop\",\"params\":{\"m\":\"marker-def\"}},"
                   "{\"name\":\"load\",\"task\":\"noop\",\"depends_on\":[\"fetc\"]}]}",
                   NULL, uid);
    char *reason = harness_dead_find("marker-def", 20);
    cr_assert(reason, "invalid definition never reached weft.dead");
    cr_assert(strstr(reason, "activity 'load': depends_on names unknown activity 'fetc'"),
              "reason: %s", reason);
    free(reason);
    weft_store *s = harness_store();
    weft_workflow_info w;
    weft_err err = {0};
    cr_assert_eq(weft_store_workflow(s, uid, &w, &err), WEFT_ENOTFOUND, "no workflow created");
    weft_store_destroy(s);
    expect_alive();
}

Test(dead_letter, definition_with_an_unknown_field_is_dead_lettered_though_messages_allow_them)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"typo\",\"activities\":[{\"name\":\"x\",\"task\":\"noop\","
                   "\"depends\":[],\"params\":{\"m\":\"marker-typo\"}}]}",
                   NULL, uid);
    char *reason = harness_dead_find("marker-typo", 20);
    cr_assert(reason, "definition with a typo never reached weft.dead");
    cr_assert(strstr(reason, "activity 'x': unknown field 'depends'"), "reason: %s", reason);
    free(reason);
    expect_alive();
}

Test(dead_letter, resume_of_unknown_workflow_is_dead_lettered)
{
    expect_dead(WEFT_QUEUE_ENTRY, "{\"workflow_uid\":\"00000000-0000-4000-8000-00000000dead\"}",
                "00000000dead", "unknown workflow");
    expect_alive();
}

Test(dead_letter, consumers_still_run_workflows_after_poison)
{
    expect_dead(WEFT_QUEUE_ENTRY, "\xff\xfe marker-utf8", "marker-utf8", "not valid JSON");
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"after\",\"activities\":[{\"name\":\"x\",\"task\":\"noop\"}]}", NULL,
                   uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    weft_workflow_info_finish(&w);
    expect_alive();
}

Test(dead_letter, attempt_message_naming_another_workflow_claims_nothing_and_is_dead_lettered)
{
    char other[WEFT_UUID_LEN + 1], uid[WEFT_UUID_LEN + 1];
    weft_workflow_info w;
    harness_submit("{\"name\":\"other\",\"activities\":[{\"name\":\"x\",\"task\":\"noop\"}]}", NULL,
                   other);
    harness_wait(other, 60, &w);
    weft_workflow_info_finish(&w);

    /* no worker: the root stays queued, and its genuine message is taken aside so that the
     * mismatched one arrives first */
    kill(procs.activity, SIGTERM);
    cr_assert_eq(waitpid(procs.activity, NULL, 0), procs.activity);
    harness_submit("{\"name\":\"target\",\"activities\":["
                   "{\"name\":\"root\",\"task\":\"noop\"},"
                   "{\"name\":\"next\",\"task\":\"noop\",\"depends_on\":[\"root\"]}]}",
                   NULL, uid);
    json_t *acts = harness_wait_activity(uid, "root", "queued", 30);
    char root[WEFT_UUID_LEN + 1];
    snprintf(root, sizeof root, "%s",
             json_string_value(json_object_get(harness_activity(acts, "root"), "uid")));
    json_decref(acts);
    char *genuine = harness_take(WEFT_QUEUE_DEFAULT, root, 20);
    cr_assert(genuine, "the root's message never reached %s", WEFT_QUEUE_DEFAULT);
    const char *args[] = {"--concurrency", "2", NULL};
    procs.activity = harness_spawn("weft-activity", args);

    weft_attempt_msg m = {.attempt = 1};
    snprintf(m.workflow_uid, sizeof m.workflow_uid, "%s", other);
    snprintf(m.activity_uid, sizeof m.activity_uid, "%s", root);
    char *body = weft_msg_encode_attempt(&m, NULL);
    harness_publish(WEFT_QUEUE_DEFAULT, body);
    free(body);
    char *reason = harness_dead_find(root, 20);
    cr_assert(reason, "the mismatched message never reached weft.dead");
    cr_assert(strstr(reason, root) && strstr(reason, other), "reason names both uids: %s", reason);
    free(reason);
    acts = harness_activities(uid);
    cr_assert_str_eq(json_string_value(json_object_get(harness_activity(acts, "root"), "status")),
                     "queued", "the mismatched message claimed nothing");
    json_decref(acts);

    harness_publish(WEFT_QUEUE_DEFAULT, genuine);
    free(genuine);
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    expect_alive();
}

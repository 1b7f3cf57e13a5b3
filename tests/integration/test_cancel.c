/* Cancellation (DESIGN §12) through the real consumers: `weft cancel` and the entry message
 * cancel a workflow with its reason, drop its queued work, stop a running built-in task at
 * once rather than after its grace, and leave every activity terminal; a worker that did
 * not hear the cancel learns it at its next lease renewal; a terminal workflow is left as
 * it is (the message proven consumed first); an unknown uid is dead-lettered. */
#include "alloc.h"
#include "clock.h"
#include "harness.h"
#include "message.h"
#include "uuid.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static harness_procs procs;
static char log_path[] = "/tmp/weft-cancel-log-XXXXXX";

/* The worker with a short lease (renewed every second), its log kept for the asserts. */
static void up(void)
{
    int fd = mkstemp(log_path);
    cr_assert(fd >= 0);
    close(fd);
    const char *args[] = {"--concurrency", "2", "--lease", "3", NULL};
    procs.entry = harness_spawn("weft-entry", NULL);
    procs.handoff = harness_spawn("weft-handoff", NULL);
    procs.activity = harness_spawn_logged("weft-activity", args, log_path);
    usleep(300 * 1000);
    cr_assert(harness_alive(procs.entry) && harness_alive(procs.activity) &&
              harness_alive(procs.handoff));
}

static void down(void)
{
    harness_stop(&procs);
    unlink(log_path);
}

TestSuite(cancel, .init = up, .fini = down, .timeout = 120);

static const char *status_of(json_t *acts, const char *name)
{
    return json_string_value(json_object_get(harness_activity(acts, name), "status"));
}

/* nap (a 20 s sleep) and its dependent; a parallel branch queued behind nap and nap2 */
static const char two_naps[] =
    "{\"name\":\"naps\",\"activities\":["
    "{\"name\":\"nap\",\"task\":\"sleep\",\"params\":{\"ms\":20000}},"
    "{\"name\":\"nap2\",\"task\":\"sleep\",\"params\":{\"ms\":20000}},"
    "{\"name\":\"queued\",\"task\":\"sleep\",\"params\":{\"ms\":20000}},"
    "{\"name\":\"after\",\"task\":\"noop\",\"depends_on\":[\"nap\"]}]}";

Test(cancel, running_built_in_tasks_stop_at_once_and_the_workflow_ends_canceled_with_the_reason)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(two_naps, NULL, uid);
    json_decref(harness_wait_activity(uid, "nap", "running", 20));
    json_decref(harness_wait_activity(uid, "nap2", "running", 20));
    int before = harness_count_lines(log_path, "stopped: its workflow was canceled");
    double t0 = weft_clock_s();
    char *cmd = weft_xasprintf("'%s' cancel %s --reason 'operator asked'", getenv("WEFT_BIN_WEFT"),
                               uid);
    cr_assert_eq(harness_run(cmd, NULL), 0);
    free(cmd);
    cmd = weft_xasprintf("'%s' wait %s --timeout 30 2>&1", getenv("WEFT_BIN_WEFT"), uid);
    char *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 1, "wait exits 1 for a canceled workflow: %s", out);
    cr_assert(strstr(out, "canceled: operator asked"), "wait says why: %s", out);
    free(out);
    free(cmd);
    /* both running attempts were stopped, not left to finish their 20 s */
    harness_wait_lines(log_path, "stopped: its workflow was canceled", before + 2, 10,
                       "both naps stopped");
    double took = weft_clock_s() - t0;
    cr_assert_lt(took, 8, "the naps stopped within seconds (%.1f s), not after 20 s", took);
    json_t *acts = harness_wait_activity(uid, "nap2", "canceled", 10);
    json_decref(acts);
    acts = harness_wait_activity(uid, "nap", "canceled", 10);
    cr_assert_str_eq(status_of(acts, "queued"), "canceled");
    cr_assert_str_eq(status_of(acts, "after"), "canceled");
    cr_assert_eq(json_array_size(json_object_get(harness_activity(acts, "after"), "attempts")), 0,
                 "the dependent never ran");
    json_decref(acts);
    weft_workflow_info w;
    harness_wait(uid, 10, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_CANCELED);
    cr_assert_str_eq(w.error, "canceled: operator asked");
    cr_assert_eq(w.remaining, 0, "every activity is terminal and counted (%d left)", w.remaining);
    weft_workflow_info_finish(&w);
    /* and the worker serves the next workflow */
    harness_submit("{\"name\":\"after_cancel\",\"activities\":[{\"name\":\"n\",\"task\":\"noop\"}]}",
                   NULL, uid);
    harness_wait(uid, 20, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    weft_workflow_info_finish(&w);
}

Test(cancel, a_worker_that_missed_the_cancel_stops_at_its_next_lease_renewal)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"missed\",\"activities\":["
                   "{\"name\":\"nap\",\"task\":\"sleep\",\"params\":{\"ms\":20000}}]}",
                   NULL, uid);
    json_decref(harness_wait_activity(uid, "nap", "running", 20));
    int before = harness_count_lines(log_path, "stopped: its workflow was canceled");
    /* canceled behind weft's back: the row changes, no notification is sent */
    const char *p[] = {uid};
    free(harness_sql_value("UPDATE weft_workflow SET status = 'canceled', error = 'canceled: by"
                           " hand', finished_at = now() WHERE uid = $1 RETURNING 1",
                           1, p));
    double t0 = weft_clock_s();
    harness_wait_lines(log_path, "stopped: its workflow was canceled", before + 1, 10,
                       "the attempt stopped");
    cr_assert_lt(weft_clock_s() - t0, 5, "within a lease renewal (every 1 s here)");
    json_decref(harness_wait_activity(uid, "nap", "canceled", 10));
}

Test(cancel, canceling_a_completed_workflow_changes_nothing)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"done\",\"activities\":[{\"name\":\"n\",\"task\":\"noop\","
                   "\"params\":{\"v\":7}}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 20, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    weft_workflow_info_finish(&w);
    size_t len;
    char *body = weft_msg_encode_cancel(uid, "too late", &len);
    harness_publish("workflow_entry", body);
    free(body);
    harness_wait_handled(20); /* the cancel was consumed */
    harness_wait(uid, 5, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    cr_assert_null(w.error);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(w.output, "n"), "v")), 7);
    weft_workflow_info_finish(&w);
    cr_assert_eq(harness_dead_find(uid, 0.5), NULL, "nothing was dead-lettered");
}

Test(cancel, an_unknown_workflow_is_dead_lettered_and_refused_by_the_cli)
{
    char uid[WEFT_UUID_LEN + 1];
    weft_uuid_new(uid);
    size_t len;
    char *body = weft_msg_encode_cancel(uid, NULL, &len);
    harness_publish("workflow_entry", body);
    free(body);
    char *reason = harness_dead_find(uid, 20);
    cr_assert(reason, "the cancel of an unknown workflow reached weft.dead");
    cr_assert(strstr(reason, "unknown workflow"), "reason: %s", reason);
    free(reason);
    char *cmd = weft_xasprintf("'%s' cancel %s 2>&1", getenv("WEFT_BIN_WEFT"), uid);
    char *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 3, "%s", out);
    cr_assert(strstr(out, "unknown workflow"), "%s", out);
    free(out);
    free(cmd);
}

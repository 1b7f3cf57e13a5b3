/* The stuck-work sweeper: an activity whose message was lost (here: taken off the queue by
 * hand) is re-dispatched, and the workflow still completes. */
#include "clock.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static harness_procs procs;
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(sweeper, .fini = down, .timeout = 120);

Test(sweeper, lost_activity_message_is_redispatched_and_the_workflow_completes)
{
    procs.entry = harness_spawn("weft-entry", NULL);
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"lost\",\"activities\":[{\"name\":\"only\",\"task\":\"noop\"}]}",
                   NULL, uid);
    /* wait until the entry consumer queued the activity, then lose its message */
    for (int i = 0;; i++) {
        json_t *acts = NULL;
        weft_store *s = harness_store();
        weft_err err = {0};
        if (weft_store_activities(s, uid, &acts, &err) == WEFT_OK && json_array_size(acts) == 1) {
            json_decref(acts);
            weft_store_destroy(s);
            break;
        }
        json_decref(acts);
        weft_store_destroy(s);
        cr_assert_lt(i, 100, "the workflow was never created");
        usleep(100 * 1000);
    }
    weft_broker *b = harness_broker();
    int taken = 0;
    weft_delivery d;
    weft_err err = {0};
    while (weft_broker_get(b, WEFT_QUEUE_DEFAULT, &d, &err) == WEFT_OK) {
        taken += strstr(d.body, uid) != NULL;
        weft_delivery_finish(&d);
    }
    weft_broker_destroy(b);
    cr_assert_eq(taken, 1, "the activity's message was on the queue and is now gone");

    const char *sweep[] = {"--sweep-interval", "1", "--sweep-after", "1", NULL};
    procs.handoff = harness_spawn("weft-handoff", sweep);
    procs.activity = harness_spawn("weft-activity", NULL);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
}

/* Waits until queue holds n messages (asserts within 20 s; rabbitmqctl takes a while). */
static void wait_depth(const char *queue, long n)
{
    double end = weft_clock_s() + 20;
    for (long had; (had = harness_queue_messages(queue)) != n;) {
        cr_assert_lt(weft_clock_s(), end, "%s held %ld messages, not %ld", queue, had, n);
        usleep(100 * 1000);
    }
}

static const char *const debug_sweep[] = {
    "--sweep-interval", "1", "--sweep-after", "1", "--log-level", "debug", NULL};

Test(sweeper, a_backlog_in_the_broker_is_not_re_sent_as_lost)
{
    char log[256];
    snprintf(log, sizeof log, "%s/sweeper-backlog-%d.log", getenv("WEFT_DATA_DIR"), getpid());
    unlink(log);
    procs.entry = harness_spawn("weft-entry", NULL);
    char uid[WEFT_UUID_LEN + 1];
    json_t *acts = json_array();
    for (int i = 0; i < 30; i++) {
        char name[16];
        snprintf(name, sizeof name, "a%d", i);
        json_array_append_new(acts, json_pack("{s:s, s:s}", "name", name, "task", "noop"));
    }
    json_t *def = json_pack("{s:s, s:o}", "name", "backlog", "activities", acts);
    char *text = json_dumps(def, 0);
    json_decref(def);
    /* 30 activities queued and no worker: a backlog the broker holds, nothing lost */
    harness_submit(text, NULL, uid);
    free(text);
    wait_depth(WEFT_QUEUE_DEFAULT, 30);
    procs.handoff = harness_spawn_logged("weft-handoff", debug_sweep, log);
    /* several sweeps that saw the backlog, each older than --sweep-after */
    harness_wait_lines(log, "ready in default", 3, 10, "the sweeper did not sweep three times");
    cr_expect_eq(harness_count_lines(log, "sweep: re-sent"), 0,
                 "the sweeper re-sent work the broker still held");
    cr_expect_eq(harness_queue_messages(WEFT_QUEUE_DEFAULT), 30,
                 "the backlog grew by duplicates of itself");
    procs.activity = harness_spawn("weft-activity", NULL);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
}

Test(sweeper, one_handoff_process_sweeps_however_many_run)
{
    char logs[2][256];
    pid_t second = 0;
    for (int i = 0; i < 2; i++) {
        snprintf(logs[i], sizeof logs[i], "%s/sweeper-leader-%d-%d.log", getenv("WEFT_DATA_DIR"),
                 getpid(), i);
        unlink(logs[i]);
    }
    procs.handoff = harness_spawn_logged("weft-handoff", debug_sweep, logs[0]);
    second = harness_spawn_logged("weft-handoff", debug_sweep, logs[1]);
    for (int i = 0; harness_count_lines(logs[0], "ready in default") +
                        harness_count_lines(logs[1], "ready in default") <
                    4;
         i++) {
        cr_assert_lt(i, 100, "no sweeps within 10 s");
        usleep(100 * 1000);
    }
    int leaders = harness_count_lines(logs[0], "leads the sweeps") +
                  harness_count_lines(logs[1], "leads the sweeps");
    int swept0 = harness_count_lines(logs[0], "ready in default");
    int swept1 = harness_count_lines(logs[1], "ready in default");
    kill(second, SIGTERM);
    waitpid(second, NULL, 0);
    cr_expect_eq(leaders, 1, "%d processes took the sweeper's leadership", leaders);
    cr_expect(swept0 == 0 || swept1 == 0, "both processes swept (%d and %d sweeps)", swept0,
              swept1);
}

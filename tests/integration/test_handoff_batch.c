/* The handoff's batches (README: The handoff's batches): the messages already delivered
 * commit together, and a batch that cannot be done as one goes one message at a time, so a
 * bad message among good ones costs nothing but itself. The handoff is started only once
 * the handoffs wait in its queue, so they reach it together. */
#include "clock.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKFLOWS 6

static harness_procs procs;
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(handoff_batch, .fini = down, .timeout = 180);

static const char one_noop[] =
    "{\"name\":\"batched\",\"activities\":[{\"name\":\"only\",\"task\":\"noop\"}]}";

/* Waits until the handoff queue holds n messages (no handoff consumer runs). */
static void wait_queued(long n)
{
    double t0 = weft_clock_s();
    long got = 0;
    while ((got = harness_queue_messages(WEFT_QUEUE_HANDOFF)) < n && weft_clock_s() - t0 < 20)
        weft_clock_sleep_ms(100);
    cr_assert_eq(got, n, "the handoff queue holds %ld messages, not %ld", got, n);
}

/* Submits count single-noop workflows into uids, each one's handoff then waiting. */
static void submit_waiting(char uids[][WEFT_UUID_LEN + 1], int count, long queued_before)
{
    for (int i = 0; i < count; i++)
        harness_submit(one_noop, NULL, uids[i]);
    wait_queued(queued_before + count);
}

static void expect_all_completed(char uids[][WEFT_UUID_LEN + 1], int count)
{
    for (int i = 0; i < count; i++) {
        weft_workflow_info w;
        harness_wait(uids[i], 20, &w);
        cr_expect_eq(w.status, WEFT_WORKFLOW_COMPLETED, "workflow %d is %s", i,
                     weft_workflow_status_name(w.status));
        weft_workflow_info_finish(&w);
    }
}

static pid_t start_handoff(const char *log)
{
    return harness_spawn_logged("weft-handoff",
                                (const char *const[]){"--log-level", "debug", NULL}, log);
}

Test(handoff_batch, a_batch_commits_together_and_a_bad_message_in_one_costs_only_itself)
{
    procs.entry = harness_spawn("weft-entry", NULL);
    procs.activity = harness_spawn("weft-activity", (const char *const[]){"--concurrency", "4",
                                                                         NULL});
    cr_assert_eq(harness_queue_messages(WEFT_QUEUE_HANDOFF), 0, "the handoff queue is empty");

    /* good ones together: one batch, one commit */
    char good[WORKFLOWS][WEFT_UUID_LEN + 1];
    submit_waiting(good, WORKFLOWS, 0);
    char *log = harness_write_temp("");
    procs.handoff = start_handoff(log);
    expect_all_completed(good, WORKFLOWS);
    harness_stop_one(procs.handoff, "weft-handoff");
    procs.handoff = 0;
    char line[96];
    snprintf(line, sizeof line, "handled %d messages", WORKFLOWS);
    cr_expect_eq(harness_count_lines(log, line), 1, "the handoff handled the %d", WORKFLOWS);
    /* the broker pushed them at once: they went in batches (how they split over batches
     * depends on how the frames reached the socket) */
    cr_expect_eq(harness_count_lines(log, " of them in "), 1, "no batch count (see %s)", log);
    cr_expect_eq(harness_count_lines(log, " 0 of them in "), 0, "no batch at all (see %s)", log);

    /* a handoff of an unknown workflow among good ones: the batch cannot commit, each goes
     * by itself, the bad one to weft.dead with its reason and the others complete */
    char mixed[WORKFLOWS][WEFT_UUID_LEN + 1];
    submit_waiting(mixed, WORKFLOWS / 2, 0);
    harness_publish(WEFT_QUEUE_HANDOFF,
                    "{\"workflow_uid\":\"00000000-0000-4000-8000-00000000b0b0\","
                    "\"activity_uid\":\"00000000-0000-4000-8000-0000000bad01\",\"attempt\":1}");
    submit_waiting(mixed + WORKFLOWS / 2, WORKFLOWS - WORKFLOWS / 2, WORKFLOWS / 2 + 1);
    char *log2 = harness_write_temp("");
    procs.handoff = start_handoff(log2);
    expect_all_completed(mixed, WORKFLOWS);
    char *reason = harness_dead_find("0000000bad01", 20);
    cr_assert(reason, "the bad handoff never reached weft.dead");
    cr_expect(strstr(reason, "unknown workflow 00000000-0000-4000-8000-00000000b0b0"),
              "reason: %s", reason);
    free(reason);
    cr_expect_eq(harness_count_lines(log2, "not done (unknown workflow"), 1,
                 "the batch with the bad message fell back to one at a time (see %s)", log2);
    cr_expect_eq(harness_queue_messages(WEFT_QUEUE_HANDOFF), 0, "nothing left in the queue");
    free(log);
    free(log2);
}

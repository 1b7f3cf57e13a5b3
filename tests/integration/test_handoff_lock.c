/* The handoff is a singleton that takes one message at a time: a workflow whose lock is
 * held elsewhere (a resume in progress, a holder that died) must not stall the handoffs of
 * every other workflow behind it. */
#include "clock.h"
#include "harness.h"
#include "lock.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static harness_procs procs;
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(handoff_lock, .fini = down, .timeout = 120);

static const char one_noop[] =
    "{\"name\":\"contended\",\"activities\":[{\"name\":\"only\",\"task\":\"noop\"}]}";

/* Waits until the activity of workflow uid completed (its handoff then waits in the queue:
 * no handoff consumer runs yet). */
static void wait_completed(const char *uid)
{
    json_decref(harness_wait_activity(uid, "only", "completed", 20));
}

Test(handoff_lock, a_locked_workflow_does_not_block_the_handoffs_of_others)
{
    procs.entry = harness_spawn("weft-entry", NULL);
    procs.activity = harness_spawn("weft-activity", NULL);
    char held[WEFT_UUID_LEN + 1], free_wf[WEFT_UUID_LEN + 1];
    harness_submit(one_noop, NULL, held);
    wait_completed(held);
    harness_submit(one_noop, NULL, free_wf);
    wait_completed(free_wf);

    /* someone else holds the first workflow's lock for longer than the test waits */
    weft_lock *lock = NULL;
    weft_err err = {0};
    cr_assert_eq(weft_lock_connect(getenv("WEFT_REDIS_URL"), &lock, &err), WEFT_OK, "%s", err.msg);
    char key[80], token[WEFT_LOCK_TOKEN_LEN + 1];
    snprintf(key, sizeof key, "weft:lock:workflow:%s", held);
    cr_assert_eq(weft_lock_acquire(lock, key, 60000, 0, token, &err), WEFT_OK, "%s", err.msg);

    /* the locked workflow's handoff is first in the queue */
    procs.handoff = harness_spawn("weft-handoff", NULL);
    weft_workflow_info w;
    double t0 = weft_clock_s();
    harness_wait(free_wf, 8, &w);
    cr_expect_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    weft_workflow_info_finish(&w);
    cr_expect_lt(weft_clock_s() - t0, 5.0, "the other workflow waited %.1f s behind the lock",
                 weft_clock_s() - t0);
    weft_store *s = harness_store();
    cr_assert_eq(weft_store_workflow(s, held, &w, &err), WEFT_OK, "%s", err.msg);
    cr_expect_eq(w.status, WEFT_WORKFLOW_RUNNING, "the locked workflow moved while locked");
    weft_workflow_info_finish(&w);
    weft_store_destroy(s);

    /* released, it completes too: its handoff was kept, not dropped */
    cr_assert_eq(weft_lock_release(lock, key, token, &err), WEFT_OK, "%s", err.msg);
    harness_wait(held, 20, &w);
    cr_expect_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    weft_workflow_info_finish(&w);
    weft_lock_destroy(lock);
}

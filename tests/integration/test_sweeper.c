/* The stuck-work sweeper: an activity whose message was lost (here: taken off the queue by
 * hand) is re-dispatched, and the workflow still completes. */
#include "harness.h"

#include <criterion/criterion.h>
#include <string.h>
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

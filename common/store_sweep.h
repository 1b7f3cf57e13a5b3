/* The store's sweep for stuck work (DESIGN §5).
 *
 * Three kinds of work can be stuck, each found through a partial index that holds only
 * work in flight, oldest first and at most `limit` a sweep, so one sweep's cost does not
 * grow with the history or with a backlog:
 *  - a lost dispatch: an activity queued (or due for retry) long ago whose message the
 *    broker lost; queued_at is refreshed as it is returned, so the next sweep waits again;
 *  - a lost handoff: a terminal attempt whose handoff never ran;
 *  - a lost attempt: a running attempt whose lease expired (its worker died after
 *    acknowledging its message, or cannot reach Postgres); it is failed as a transient
 *    failure with a compare-and-set that loses to a worker renewing it meanwhile.
 * The sweeper (one leader, handoff/sweeper.h) re-sends the first two and fails the third;
 * compare-and-set transitions make a message that was not lost after all harmless. */
#ifndef WEFT_STORE_SWEEP_H
#define WEFT_STORE_SWEEP_H

#include "definition.h"
#include "store.h"

/* A running attempt whose lease expired, with what deciding on its retry needs. */
typedef struct {
    weft_dispatch at; /* uid, attempt, priority, queue, workflow_uid */
    int retries;      /* retries already used */
    weft_retry_policy retry;
    int expired_s; /* how long ago the lease ran out */
} weft_lost_attempt;

/* A growable list, zero-initialised by the caller; weft_lost_attempts_finish frees it. */
typedef struct {
    weft_lost_attempt *items; /* owned */
    size_t n;
} weft_lost_attempts;
void weft_lost_attempts_finish(weft_lost_attempts *l);

/* Up to limit activities of running workflows queued (or due for retry) more than
 * older_than_s ago, appended to out (workflow_uid set), their queued_at refreshed. */
weft_status weft_store_sweep_dispatches(weft_store *s, int older_than_s, int limit,
                                        weft_dispatch_list *out, weft_err *err);

/* Up to limit terminal attempts of running workflows not handed off older_than_s after they
 * finished, appended to out (workflow_uid set). */
weft_status weft_store_sweep_handoffs(weft_store *s, int older_than_s, int limit,
                                      weft_dispatch_list *out, weft_err *err);

/* Up to limit running attempts, in any workflow, whose lease expired, into out. */
weft_status weft_store_sweep_leases(weft_store *s, int limit, weft_lost_attempts *out,
                                    weft_err *err);

#endif

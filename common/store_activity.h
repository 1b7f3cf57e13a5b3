/* The store's activities: one row per activity of a workflow, its status (state.h), its
 * attempt number and the attempt history.
 *
 * An attempt is (activity uid, attempt), in the workflow the message names. A worker claims
 * it (queued → running, or retrying → running once the retry is due; only while the
 * workflow runs), then records it completed or failed (retrying with the next attempt while
 * retries remain and the workflow runs), or releases it (→ queued) when stopping. Each is
 * a compare-and-set on (status, attempt): WEFT_ESTALE says the attempt is no longer the
 * one the message named, and weft_store_activity_state says where it stands instead.
 *
 * A terminal attempt is then handed off exactly once (handed_off): a completed one counts
 * its dependents' `unmet` down and queues those reaching 0; a failed one fails the
 * workflow. The handoff is serialized per workflow (DESIGN §5.5); a duplicate changes
 * nothing and returns the already-queued dependents again.
 *
 * Who writes what: the activity consumer claims, completes, fails and releases; the
 * handoff consumer hands off. */
#ifndef WEFT_STORE_ACTIVITY_H
#define WEFT_STORE_ACTIVITY_H

#include "definition.h"
#include "store.h"

#include <jansson.h>

/* What the activity consumer needs to run an attempt it claimed. */
typedef struct {
    char *name;                /* owned */
    char *task;                /* owned */
    json_t *params;            /* owned reference */
    json_t *inputs;            /* owned reference: the workflow's inputs */
    json_t *upstream;          /* owned reference: {dependency name: output} */
    json_t **upstream_ordered; /* owned array of borrowed refs into upstream, depends_on order */
    size_t nupstream;
    int priority;
    int timeout_s;
    int heartbeat_s; /* 0: its silence is not watched */
    int retries;     /* retries already used */
    weft_retry_policy retry;
    char queue[WEFT_MAX_NAME_LEN + 1]; /* the activity's routing queue (queues.h) */
    /* composition (store_compose.h) */
    json_t *map;         /* owned reference or NULL: {"over", "max_parallel"} of a map or instance */
    bool map_instance;   /* one element's instance of a map */
    bool map_expanded;   /* a map whose instances exist (it was resumed) */
    char child_uid[WEFT_UUID_LEN + 1]; /* a workflow activity's child so far, "" if none */
    json_t *concurrency; /* owned reference, NULL when none: {"key": K, "limit": N} */
} weft_claim;
void weft_claim_finish(weft_claim *c);

/* Where an activity stands, for deciding what a message that could not claim it means. */
typedef struct {
    char workflow_uid[WEFT_UUID_LEN + 1];
    weft_activity_status status;
    int attempt;
    bool handed_off;
    int priority;
    int retries; /* retries already used */
    weft_retry_policy retry;
    int due_in_ms;         /* retrying: how long until the retry is due (0 once it is) */
    bool workflow_running; /* the workflow's status is running */
    bool lease_expired;    /* running, and its worker stopped renewing the lease */
    char queue[WEFT_MAX_NAME_LEN + 1]; /* the activity's routing queue (queues.h) */
    bool awaiting; /* running with no lease: a map waiting for its instances or an activity for
                      its child workflow (store_compose.h) */
} weft_activity_state;

/* Compare-and-set queued → running, or retrying → running once the retry is due, for (uid,
 * attempt) in workflow workflow_uid while that workflow runs; worker and worker_id (borrowed;
 * worker_id: the registered worker's uuid, registry.h, or NULL) are recorded with it and its
 * attempt history, and the attempt is leased to it for lease_s seconds
 * (weft_store_renew_lease).
 * WEFT_OK fills *claim (caller finishes it); WEFT_ESTALE when the CAS failed: *state tells
 * where the activity stands (its workflow may be another); WEFT_ENOTFOUND for an unknown
 * activity. */
weft_status weft_store_claim(weft_store *s, const char *workflow_uid, const char *uid, int attempt,
                             const char *worker, const char *worker_id, int lease_s,
                             weft_claim *claim, weft_activity_state *state, weft_err *err);

/* Extends the lease of running attempt (uid, attempt) to lease_s seconds from now;
 * *canceled (may be NULL) says whether its workflow was canceled meanwhile (the attempt
 * must stop). WEFT_ESTALE when the attempt no longer runs (its lease expired and it was
 * failed as lost, or its workflow was settled): its result will be dropped. */
weft_status weft_store_renew_lease(weft_store *s, const char *uid, int attempt, int lease_s,
                                   bool *canceled, weft_err *err);

/* Records the last progress (0..100) and message (borrowed; NULL: none) of running attempt
 * (uid, attempt). WEFT_ESTALE when the attempt no longer runs. */
weft_status weft_store_progress(weft_store *s, const char *uid, int attempt, double progress,
                                const char *message, weft_err *err);

/* Records a successful attempt (running → completed) with its input and output (borrowed).
 * WEFT_ESTALE when the attempt no longer runs. */
weft_status weft_store_complete(weft_store *s, const char *uid, int attempt, const json_t *input,
                                const json_t *output, weft_err *err);

/* Records a failed attempt with error (borrowed). retry: running → retrying with
 * attempt+1, due after delay_ms, if the workflow still runs; else (or when it no longer
 * runs: nothing would claim the retry) running → failed. only_expired: only if the
 * attempt's lease expired (the sweeper). *retrying says which it was, *next_attempt the
 * attempt after it. WEFT_ESTALE when the attempt no longer runs (or was renewed). */
weft_status weft_store_fail(weft_store *s, const char *uid, int attempt, const char *error,
                            bool retry, int delay_ms, bool only_expired, int *next_attempt,
                            bool *retrying, weft_err *err);

/* Hands a running attempt back (running → queued) when a stopping worker gives it up, so
 * its redelivery runs it without counting a failure; in a workflow that no longer runs
 * (canceled, or failed), running → canceled, and *canceled (may be NULL) says so.
 * WEFT_ESTALE if it no longer runs. */
weft_status weft_store_release(weft_store *s, const char *uid, int attempt, bool *canceled,
                               weft_err *err);

/* Where an activity stands, into *state (WEFT_ENOTFOUND if unknown). */
weft_status weft_store_activity_state(weft_store *s, const char *uid, weft_activity_state *state,
                                      weft_err *err);

/* The handoff of a terminal attempt, in one transaction: merge bookkeeping (unmet counts),
 * newly ready activities queued and appended to dispatch, failure (workflow failed, pending
 * work canceled) or completion (output of the sinks). A duplicate handoff changes nothing and
 * appends the already-queued downstream activities again, so a crash between commit and
 * publish is repaired by the redelivery. *workflow_status gets the status after it.
 * WEFT_ESTALE for an attempt that is not the terminal one; WEFT_ENOTFOUND for an unknown
 * workflow or activity. */
weft_status weft_store_handoff(weft_store *s, const char *workflow_uid, const char *uid,
                               int attempt, weft_dispatch_list *dispatch,
                               weft_workflow_status *workflow_status, weft_err *err);

/* One handoff of weft_store_handoff_batch: the attempt (borrowed strings) and what its
 * handoff did. */
typedef struct {
    const char *workflow_uid;
    const char *uid;
    int attempt;
    weft_dispatch_list dispatch;  /* appended to; the caller finishes it */
    weft_workflow_status status;  /* the workflow's, after this handoff */
    bool stale;                   /* not the terminal attempt: nothing done (WEFT_ESTALE) */
} weft_handoff_item;

/* The handoffs of items[0..n) as weft_store_handoff does each, one after another in one
 * transaction, so one commit (one WAL flush) carries them all; a later item sees what the
 * earlier ones did, so items may share a workflow. A stale item is marked, not an error. On
 * any failure (an unknown workflow or activity included) the whole transaction is rolled
 * back and nothing is done; what the items' dispatch lists got then is to be discarded. */
weft_status weft_store_handoff_batch(weft_store *s, weft_handoff_item *items, size_t n,
                                     weft_err *err);

/* The workflow's activities and attempts as a new JSON array (*out) of objects (name, uid,
 * task, queue, status, attempt, retries, error, duration_s, waiting (a queued attempt's
 * limit, global_limit.h, or null), attempts: [{attempt, status,
 * error, worker, worker_id}]). */
weft_status weft_store_activities(weft_store *s, const char *uid, json_t **out, weft_err *err);

#endif

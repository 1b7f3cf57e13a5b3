/* Postgres: the durable truth (DESIGN §5). Schema migrations at connect time under an
 * advisory lock; every state change a compare-and-set on status and attempt; all SQL here,
 * prepared, with parameters. A weft_store is one connection, used by one thread. */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include "definition.h"
#include "status.h"
#include "uuid.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct weft_store weft_store;

/* One message to send after a commit: run attempt `attempt` of activity `uid`. */
typedef struct {
    char uid[WEFT_UUID_LEN + 1];
    int attempt;
    int priority;
    char workflow_uid[WEFT_UUID_LEN + 1]; /* set by weft_store_sweep only */
} weft_dispatch;

/* A growable list of dispatches; weft_dispatch_list_finish frees its array. */
typedef struct {
    weft_dispatch *items;
    size_t n, cap;
} weft_dispatch_list;
void weft_dispatch_list_finish(weft_dispatch_list *l);

/* What the activity consumer needs to run an attempt it claimed. */
typedef struct {
    char workflow_uid[WEFT_UUID_LEN + 1];
    char *name;                /* owned */
    char *task;                /* owned */
    json_t *params;            /* owned reference */
    json_t *inputs;            /* owned reference: the workflow's inputs */
    json_t *upstream;          /* owned reference: {dependency name: output} */
    json_t **upstream_ordered; /* owned array of borrowed refs into upstream, depends_on order */
    size_t nupstream;
    int priority;
    int timeout_s;
    int retries; /* retries already used */
    weft_retry_policy retry;
} weft_claim;
void weft_claim_finish(weft_claim *c);

/* Where an activity stands, for deciding what a message that could not claim it means. */
typedef struct {
    char workflow_uid[WEFT_UUID_LEN + 1];
    char status[16];
    int attempt;
    bool handed_off;
    int priority;
    int retries; /* retries already used */
    weft_retry_policy retry;
} weft_activity_state;

typedef struct {
    char uid[WEFT_UUID_LEN + 1];
    char name[WEFT_MAX_NAME_LEN + 1];
    char status[16];
    json_t *output; /* owned reference or NULL */
    char *error;    /* owned or NULL */
    int total, remaining;
    double age_s; /* seconds since creation */
    double run_s; /* seconds from creation to finish (or now) */
} weft_workflow_info;
void weft_workflow_info_finish(weft_workflow_info *w);

/* Connects to url (borrowed; a libpq URI or key=value string), applies pending migrations
 * under an advisory lock and prepares the statements. *out is new; free with
 * weft_store_destroy (accepts NULL). WEFT_EDB when Postgres is unreachable. The
 * connection is re-opened by the next call after a failure. */
weft_status weft_store_connect(const char *url, weft_store **out, weft_err *err);
void weft_store_destroy(weft_store *s);

/* Creates workflow uid from a parsed definition (borrowed) and its document and inputs
 * (borrowed), running, with its root activities queued; appends them to dispatch.
 * *existed is set (and nothing written) when uid is already known. */
weft_status weft_store_create_workflow(weft_store *s, const char *uid, const weft_definition *def,
                                       const json_t *doc, const json_t *inputs,
                                       weft_dispatch_list *dispatch, bool *existed, weft_err *err);

/* Resume (DESIGN §2): pending/failed → running with failed and canceled activities back to
 * pending with fresh retry counts; then every ready or queued activity goes to dispatch.
 * *status gets the workflow's status before the call. WEFT_ENOTFOUND for an unknown uid. */
weft_status weft_store_resume(weft_store *s, const char *uid, weft_dispatch_list *dispatch,
                              char status[16], weft_err *err);

/* Compare-and-set queued|retrying → running for (uid, attempt) while the workflow runs.
 * WEFT_OK fills *claim (caller finishes it); WEFT_ESTALE when the CAS failed: *state tells
 * where the activity stands; WEFT_ENOTFOUND for an unknown activity. */
weft_status weft_store_claim(weft_store *s, const char *uid, int attempt, const char *worker,
                             weft_claim *claim, weft_activity_state *state, weft_err *err);

/* Records a successful attempt (running → completed) with its input and output (borrowed).
 * WEFT_ESTALE when the attempt no longer runs. */
weft_status weft_store_complete(weft_store *s, const char *uid, int attempt, const json_t *input,
                                const json_t *output, weft_err *err);

/* Records a failed attempt. retry: running → retrying with attempt+1 (written to
 * *next_attempt); else running → failed. WEFT_ESTALE when the attempt no longer runs. */
weft_status weft_store_fail(weft_store *s, const char *uid, int attempt, const char *error,
                            bool retry, int delay_ms, int *next_attempt, weft_err *err);

/* The handoff of a terminal attempt, in one transaction: merge bookkeeping (unmet counts),
 * newly ready activities queued and appended to dispatch, failure (workflow failed, pending
 * work canceled) or completion (output of the sinks). A duplicate handoff changes nothing and
 * appends the already-queued downstream activities again, so a crash between commit and
 * publish is repaired by the redelivery. *workflow_status gets the status after it. */
weft_status weft_store_handoff(weft_store *s, const char *workflow_uid, const char *uid,
                               int attempt, weft_dispatch_list *dispatch, char workflow_status[16],
                               weft_err *err);

/* Hands a running attempt back (running → queued) when a stopping worker gives it up, so
 * its redelivery runs it without counting a failure. WEFT_ESTALE if it no longer runs. */
weft_status weft_store_release(weft_store *s, const char *uid, int attempt, weft_err *err);

/* Where an activity stands (WEFT_ENOTFOUND if unknown). */
weft_status weft_store_activity_state(weft_store *s, const char *uid, weft_activity_state *state,
                                      weft_err *err);

/* A workflow's summary; WEFT_ENOTFOUND if unknown. */
weft_status weft_store_workflow(weft_store *s, const char *uid, weft_workflow_info *info,
                                weft_err *err);

/* The workflow's activities and attempts as a new JSON array of objects (name, uid, task,
 * status, attempt, retries, error, duration_s, attempts: [{attempt, status, error}]). */
weft_status weft_store_activities(weft_store *s, const char *uid, json_t **out, weft_err *err);

/* Waits up to timeout_ms for a notification that some workflow finished (LISTENs on first
 * use). Returns WEFT_OK on a notification, WEFT_ETIMEOUT otherwise. */
weft_status weft_store_wait_notify(weft_store *s, int timeout_ms, weft_err *err);

/* The stuck-work sweep, over running workflows: activities queued (or due for retry) for
 * more than older_than_s go to activities, with their queued_at refreshed so the next sweep
 * does not repeat them at once; terminal attempts whose handoff has not run for
 * older_than_s (their handoff message was lost with a broker's data) go to handoffs. Both
 * lists carry workflow_uid. */
weft_status weft_store_sweep(weft_store *s, int older_than_s, weft_dispatch_list *activities,
                             weft_dispatch_list *handoffs, weft_err *err);

#endif

/* The store's workflows.
 *
 * A workflow row holds its definition, inputs, status (state.h) and `remaining`, the
 * number of its activities not yet terminal and handed off: the handoff that brings it to
 * 0 completes the workflow, one whose activity failed for good fails it (and cancels the
 * pending work). Created running with its ready activities queued; resumed from failed
 * (or pending) with its failed and canceled activities back to pending. Canceled from
 * pending or running (for good: a canceled workflow is not resumed), with its work not yet
 * running; the attempts still running are stopped by their workers, told through Postgres
 * channel weft_cancel (weft_store_cancel_noticed). A workflow that finishes notifies
 * channel weft_workflow, which weft_store_wait_notify waits on.
 *
 * Who writes what: entry creates, resumes and cancels; the handoff (store_activity.h)
 * finishes. */
#ifndef WEFT_STORE_WORKFLOW_H
#define WEFT_STORE_WORKFLOW_H

#include "definition.h"
#include "store.h"

#include <jansson.h>

typedef struct {
    char uid[WEFT_UUID_LEN + 1];
    char name[WEFT_MAX_NAME_LEN + 1];
    weft_workflow_status status;
    json_t *output; /* owned reference or NULL */
    char *error;    /* owned or NULL */
    int total, remaining;
    double age_s; /* seconds since creation */
    double run_s; /* seconds from creation to finish (or now) */
    char parent_uid[WEFT_UUID_LEN + 1];          /* a child workflow's parent, else "" */
    char parent_activity[WEFT_MAX_NAME_LEN + 8]; /* ... and the activity waiting for it */
} weft_workflow_info;
void weft_workflow_info_finish(weft_workflow_info *w);

/* Creates workflow uid (borrowed) from a parsed definition (borrowed) and its document and
 * inputs (borrowed), running, with its root activities queued; appends them to dispatch.
 * *existed is set (and nothing written) when uid is already known. */
weft_status weft_store_create_workflow(weft_store *s, const char *uid, const weft_definition *def,
                                       const json_t *doc, const json_t *inputs,
                                       weft_dispatch_list *dispatch, bool *existed, weft_err *err);

/* Resume (DESIGN §2): pending/failed → running with failed and canceled activities back to
 * pending with fresh retry counts; then every ready or queued activity goes to dispatch.
 * *status gets the workflow's status before the call. WEFT_ENOTFOUND for an unknown uid. */
weft_status weft_store_resume(weft_store *s, const char *uid, weft_dispatch_list *dispatch,
                              weft_workflow_status *status, weft_err *err);

/* A workflow's summary into *info (the caller finishes it); WEFT_ENOTFOUND if unknown. */
weft_status weft_store_workflow(weft_store *s, const char *uid, weft_workflow_info *info,
                                weft_err *err);

/* Cancels workflow uid (borrowed) with reason (borrowed): pending or running → canceled,
 * its pending, queued and retrying activities canceled. *was gets the status before the
 * call and *canceled whether this call canceled it (a terminal workflow is left as it is).
 * WEFT_ENOTFOUND for an unknown uid. */
weft_status weft_store_cancel(weft_store *s, const char *uid, const char *reason,
                              weft_workflow_status *was, bool *canceled, weft_err *err);

/* Makes this connection hear of canceled workflows, once per connection (a reconnect
 * LISTENs again). Call before claiming work, so that no cancel after the claim is missed. */
weft_status weft_store_listen_cancels(weft_store *s, weft_err *err);

/* Whether a cancel of workflow uid (borrowed) was heard since the last call, reading what
 * the connection holds without waiting; other workflows' cancels are dropped (their work
 * is not this connection's). False when not listening or on a connection failure: the
 * lease renewal is the fallback. */
bool weft_store_cancel_noticed(weft_store *s, const char *uid);

/* The definition document workflow uid (borrowed) was created from: *out is new.
 * WEFT_ENOTFOUND for an unknown uid. */
weft_status weft_store_workflow_definition(weft_store *s, const char *uid, json_t **out,
                                           weft_err *err);

/* Waits up to timeout_ms for a notification that some workflow finished (LISTENs on first
 * use). Returns WEFT_OK on a notification, WEFT_ETIMEOUT otherwise. */
weft_status weft_store_wait_notify(weft_store *s, int timeout_ms, weft_err *err);

#endif

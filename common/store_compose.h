/* The store's composition (DESIGN §11): maps and child workflows.
 *
 * A map activity, claimed like any other, is expanded by its worker: one instance activity
 * per element of its array, appended to the workflow (counted in total and remaining), the
 * first max_parallel queued and the rest `pending` until the handoff releases them one per
 * finished instance, in element order. An instance's input is the map's merged input, then
 * the element's members when it is an object, then {"item", "index"}. The map itself waits
 * meanwhile: `running` with no lease, so the sweeper does not call it lost, and a workflow that
 * fails or is canceled cancels it with the rest. The last instance's handoff completes it
 * with {"items": [outputs in element order]}; the first instance failing for good fails it.
 *
 * A `workflow` activity starts a child workflow that records it as its parent, and waits the
 * same way, holding no worker slot. The handoff that makes the child terminal settles the
 * parent activity (completed with the child's output, or failed with the child's uid and
 * error) and returns the parent attempt's handoff to send; a cancel does the same through
 * weft_store_child_settled. The child's uid is the activity's, kept across attempts: a
 * resumed parent resumes its failed child rather than starting another.
 *
 * Invariants: at most max_parallel instances of a map are queued or running; instances are
 * released in element order; a waiting activity is settled only by its instances or its
 * child, each settlement a compare-and-set on (status, attempt, child). */
#ifndef WEFT_STORE_COMPOSE_H
#define WEFT_STORE_COMPOSE_H

#include "definition.h"
#include "store.h"

#include <jansson.h>

/* Expands map activity (uid, attempt) of workflow wf, running in this worker, over items (a
 * JSON array, borrowed; not empty): the instances are created, the first max_parallel queued
 * and appended to dispatch, and the map waits. WEFT_ETOOBIG (nothing written) when the
 * workflow would exceed max_activities; WEFT_ESTALE when the attempt or the workflow no longer
 * runs. */
weft_status weft_store_map_expand(weft_store *s, const char *wf, const char *uid, int attempt,
                                  const json_t *items, int max_parallel, size_t max_activities,
                                  weft_dispatch_list *dispatch, weft_err *err);

/* Map activity (uid, attempt), expanded before and claimed again after a resume, waits again:
 * waiting instances are queued up to max_parallel queued or running, and appended to dispatch
 * with those queued already. *completed is set when every instance had completed: the map is
 * then completed with their outputs, and its handoff is due. WEFT_ESTALE when the attempt no
 * longer runs. */
weft_status weft_store_map_resume(weft_store *s, const char *wf, const char *uid, int attempt,
                                  int max_parallel, weft_dispatch_list *dispatch, bool *completed,
                                  weft_err *err);

/* Starts child workflow child_uid (borrowed) from def, doc and inputs (borrowed) for activity
 * (uid, attempt) of workflow wf, running in this worker, which then waits for it; the child's
 * ready activities are appended to dispatch. A child_uid that exists already is not created
 * again (*existed). WEFT_ESTALE when the attempt no longer runs. */
weft_status weft_store_start_child(weft_store *s, const char *wf, const char *uid, int attempt,
                                   const char *child_uid, const weft_definition *def,
                                   const json_t *doc, const json_t *inputs,
                                   weft_dispatch_list *dispatch, bool *existed, weft_err *err);

/* Activity (uid, attempt), running in this worker, waits for its existing child child_uid
 * (borrowed). WEFT_ESTALE when the attempt no longer runs. */
weft_status weft_store_child_wait(weft_store *s, const char *uid, int attempt,
                                  const char *child_uid, weft_err *err);

/* The status of workflow uid (borrowed) into *status; WEFT_ENOTFOUND when it does not exist. */
weft_status weft_store_child_status(weft_store *s, const char *uid, weft_workflow_status *status,
                                    weft_err *err);

/* The pending or running children of workflow uid (borrowed) as a new JSON array of uids. */
weft_status weft_store_children(weft_store *s, const char *uid, json_t **out, weft_err *err);

/* Settles the parent activity of child workflow uid (borrowed) when the child is terminal and
 * the parent still waits for it; the parent attempt's handoff is then appended to dispatch
 * (handoff set). Nothing to do is WEFT_OK with nothing appended. */
weft_status weft_store_child_settled(weft_store *s, const char *uid, weft_dispatch_list *dispatch,
                                     weft_err *err);

#endif

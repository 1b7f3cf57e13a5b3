/* The two state machines of weft (DESIGN §4), as the store reads and writes them.
 *
 * Workflow:
 *
 *     pending -> running -> completed | failed | canceled
 *     failed  -> running                  (resume)
 *
 * Activity:
 *
 *     pending -> queued -> running -> completed | failed
 *                          running -> retrying -> running  (the retry is claimed when due)
 *                          running -> queued               (a stopping worker gives it back)
 *     pending | queued -> canceled                          (the workflow failed)
 *     failed | canceled -> pending                          (resume)
 *
 * completed, failed and canceled are terminal for both until a resume. Every transition is
 * a compare-and-set in Postgres; these enums exist at the store's boundary, where a status
 * is parsed once from its name (the text Postgres holds) and printed by its name. */
#ifndef WEFT_STATE_H
#define WEFT_STATE_H

#include <stdbool.h>

typedef enum {
    WEFT_WORKFLOW_PENDING,
    WEFT_WORKFLOW_RUNNING,
    WEFT_WORKFLOW_COMPLETED,
    WEFT_WORKFLOW_FAILED,
    WEFT_WORKFLOW_CANCELED,
} weft_workflow_status;

typedef enum {
    WEFT_ACTIVITY_PENDING,
    WEFT_ACTIVITY_QUEUED,
    WEFT_ACTIVITY_RUNNING,
    WEFT_ACTIVITY_RETRYING,
    WEFT_ACTIVITY_COMPLETED,
    WEFT_ACTIVITY_FAILED,
    WEFT_ACTIVITY_CANCELED,
} weft_activity_status;

/* The status's name ("running"): a static string; "unknown" for a value out of range. */
const char *weft_workflow_status_name(weft_workflow_status s);
const char *weft_activity_status_name(weft_activity_status s);

/* Parses a name (borrowed) into *out; false (and *out untouched) for an unknown name. */
bool weft_workflow_status_parse(const char *name, weft_workflow_status *out);
bool weft_activity_status_parse(const char *name, weft_activity_status *out);

/* completed, failed or canceled. */
bool weft_workflow_status_terminal(weft_workflow_status s);
bool weft_activity_status_terminal(weft_activity_status s);

#endif

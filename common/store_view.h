/* Read-only views of the store for people and their tools (the HTTP API and the dashboard):
 * a page of workflows, newest first, and a workflow's DAG. They read what the engine wrote
 * and change nothing; each is one statement (common/sql/workflow_list.sql,
 * workflow_edges.sql), so it sees one snapshot. Results are new JSON the caller releases. */
#ifndef WEFT_STORE_VIEW_H
#define WEFT_STORE_VIEW_H

#include "store.h"

#include <jansson.h>

/* The filter of a workflow list: status and name borrowed, NULL for any. */
typedef struct {
    const char *status;
    const char *name;
    int limit; /* 1.. */
} weft_workflow_filter;

/* The newest workflows matching f as a new JSON array (*out) of objects {uid, name, status,
 * error, total, remaining, created_at (ISO 8601 UTC), duration_s}. */
weft_status weft_store_list_workflows(weft_store *s, const weft_workflow_filter *f, json_t **out,
                                      weft_err *err);

/* Workflow uid's activities in definition order as a new JSON array (*out) of {name,
 * depends_on: [names]}; [] for an unknown uid. */
weft_status weft_store_workflow_edges(weft_store *s, const char *uid, json_t **out, weft_err *err);

#endif

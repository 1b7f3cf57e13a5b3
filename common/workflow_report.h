/* A workflow as `weft status --json` and GET /v1/workflows/UID show it: one JSON object
 * {uid, name, status, output?, error?, total, remaining, duration_s, progress, activities},
 * built from what the store read (weft_store_workflow, weft_store_activities). One function,
 * so the CLI and the API cannot drift apart. Pure; no I/O. */
#ifndef WEFT_WORKFLOW_REPORT_H
#define WEFT_WORKFLOW_REPORT_H

#include "store.h"

#include <jansson.h>

/* A new object from w, activities and progress (all borrowed: progress is
 * weft_progress_summary(activities)); output and error are left out when the workflow has
 * none. */
json_t *weft_workflow_report(const weft_workflow_info *w, json_t *activities, json_t *progress);

#endif

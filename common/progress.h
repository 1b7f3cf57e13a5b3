/* A workflow's progress as a person reads it (DESIGN §12): how many of its activities are
 * terminal out of all of them (X of N), and its stage, the names of the activities running
 * now, in definition order. A map's instances count in X of N, but the stage names their map
 * (instances carry "instance_of"). Derived from the activity list the store reads
 * (weft_store_activities), never stored: it cannot disagree with the statuses it counts.
 * Pure; no I/O. */
#ifndef WEFT_PROGRESS_H
#define WEFT_PROGRESS_H

#include <jansson.h>

/* The summary of activities (borrowed: the array weft_store_activities returns, each with
 * "name" and "status"): a new object {"done": X, "total": N, "stage": [names]}. An element
 * without a known status counts in N, not in X. */
json_t *weft_progress_summary(const json_t *activities);

/* Writes "X/N" and, when anything runs, " (stage: a, b)" into buf (size bytes, always
 * NUL-terminated, cut when too small) from a summary (borrowed). Returns buf. */
char *weft_progress_format(const json_t *summary, char *buf, size_t size);

/* Writes a map's instance counts (borrowed: an activity's "instances", {"total": N,
 * "completed": X, "running": R, ...}) as "X/N completed, R running, ..." into buf (size
 * bytes, always NUL-terminated), the other statuses in their life-cycle order. Returns buf. */
char *weft_progress_instances_format(const json_t *instances, char *buf, size_t size);

#endif

/* Graph logic over a parsed definition: cycle check, roots, reverse edges, and the input
 * merge rule (DESIGN §3). Pure functions, no I/O. */
#ifndef WEFT_DAG_H
#define WEFT_DAG_H

#include "definition.h"

#include <jansson.h>
#include <stdbool.h>

/* WEFT_OK when the graph has no cycle; else WEFT_EINVAL with err naming the activities of
 * one cycle in order, each depending on the next ("cycle: a -> b -> c -> a (each activity
 * depends on the next)"; a very long cycle is shown cut, with a count of the rest).
 * Self-dependencies are cycles too. Every deps entry must be < def->n. O(n + edges), and
 * iterative, so chain depth is not limited by the C stack. */
weft_status weft_dag_check_acyclic(const weft_definition *def, weft_err *err);

/* For each activity i, the indices of the activities that depend on it, in definition
 * order. *out is a new array of def->n arrays (each new, with counts in *counts, new);
 * free with weft_dag_free_downstream. */
void weft_dag_downstream(const weft_definition *def, size_t ***out, size_t **counts);
void weft_dag_free_downstream(size_t **down, size_t *counts, size_t n);

/* Activities ready given which are completed (completed[i]; NULL means none are): not
 * completed themselves and every dependency completed. Writes their indices in definition
 * order to ready (caller's array of def->n) and returns how many. */
size_t weft_dag_ready(const weft_definition *def, const bool *completed, size_t *ready);

/* The input of an activity: a new object merging, later keys winning, the workflow's
 * inputs, then each upstream output in depends_on order, then params. Any argument may be
 * NULL or a non-object, which counts as {} (a NULL upstream array counts as none). All
 * arguments are borrowed; values are shared with them, not copied, but setting keys on the
 * result never changes an argument. */
json_t *weft_dag_merge_input(const json_t *inputs, const json_t *const *upstream, size_t n,
                             const json_t *params);

#endif

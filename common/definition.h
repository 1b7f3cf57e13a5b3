/* Workflow definitions: parse and validate a definition document (DESIGN §3) before
 * anything is written. Every error names the activity and the field. */
#ifndef WEFT_DEFINITION_H
#define WEFT_DEFINITION_H

#include "weft_limits.h"
#include "status.h"
#include "task.h"

#include <jansson.h>
#include <stddef.h>

typedef struct {
    int max_retries;         /* retries after the first attempt; >= 0 */
    double initial_delay_ms; /* >= 0 */
    double backoff;          /* >= 1 */
    double max_delay_ms;     /* >= initial_delay_ms, <= WEFT_MAX_DELAY_LIMIT_MS */
} weft_retry_policy;

typedef struct {
    char *name;     /* owned */
    char *task;     /* owned */
    json_t *params; /* owned reference; always an object ({} when absent) */
    size_t *deps;   /* owned; indices into weft_definition.activities, listed order */
    size_t ndeps;
    weft_retry_policy retry;
    int timeout_s;   /* 0: no timeout */
    int priority;    /* 0..WEFT_MAX_PRIORITY */
    int heartbeat_s; /* 0: not watched; else < timeout_s when that is set (DESIGN §10) */
    char *queue;     /* owned: its routing queue (queues.h), "default" when absent */
    char *map_over;       /* owned, NULL when no `map`: the input key whose array it maps over */
    int map_max_parallel; /* with map_over: instances queued or running at once, >= 1 */
    /* "concurrency": {"key": K, "limit": N}: at most N running attempts of its task per value
     * of its merged input's K, across all workflows (global_limit.h) */
    char *concurrency_key; /* owned; NULL: none */
    int concurrency_limit; /* 1..WEFT_MAX_CONCURRENCY_LIMIT when concurrency_key is set */
} weft_activity_def;

#define WEFT_MAX_CONCURRENCY_LIMIT 100000

/* The task type of an activity that runs a child workflow (DESIGN §11): the engine's own,
 * known to every definition whatever the workers serve. */
#define WEFT_TASK_WORKFLOW "workflow"

typedef struct {
    char *name;                    /* owned */
    weft_activity_def *activities; /* owned array of n */
    size_t n;
    /* fairness (DESIGN §10): at most this many of its activities queued or running at once,
     * the ready ones beyond it held until others finish; WEFT_DEFAULT_WORKFLOW_PARALLEL when
     * the definition gives none */
    int max_parallel;
} weft_definition;

/* The default retry policy (DESIGN §3). */
weft_retry_policy weft_retry_policy_default(void);

/* Parses and validates doc (borrowed). limits may be NULL for WEFT_LIMITS_DEFAULT; tasks may
 * be NULL to skip the task-name check. Unknown fields are errors, integer fields need JSON
 * integers, and when a retry object gives only one of initial_delay_ms/max_delay_ms the other
 * default moves to keep initial <= max. The cycle check is weft_dag_check_acyclic's.
 * On WEFT_OK *out is a new definition the caller frees with weft_definition_destroy.
 * On error *out is NULL and the status is WEFT_EINVAL (or WEFT_ETOOBIG over
 * limits->max_activities, or WEFT_ENOTFOUND for a task tasks does not know: the one error a
 * fresher list of task types can mend, catalog.h) with err holding one line naming the
 * activity and field, e.g. "activity 'load': depends_on names unknown activity 'fetc'" or
 * "activity 'resize': unknown task 'resise' (known: fail, noop, resize, ...)". */
weft_status weft_definition_parse(const json_t *doc, const weft_limits *limits,
                                  const weft_task_registry *tasks, weft_definition **out,
                                  weft_err *err);

/* Accepts NULL. */
void weft_definition_destroy(weft_definition *def);

/* True when name matches [A-Za-z0-9_.-]{1,64}. */
bool weft_name_valid(const char *name);

#endif

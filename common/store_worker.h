/* The store's worker registry (DESIGN §9): one row per weft-activity process since it
 * started, and every task type a worker ever declared.
 *
 * A worker row is created at the process's start under a new id and never changes what it
 * says the worker consumes and serves. Its states follow from two times:
 *  - alive:   heartbeat_at within three heartbeat intervals of now;
 *  - lost:    not heard from for longer, and it never said it stopped (it died);
 *  - stopped: it said so at a graceful exit (stopped_at).
 * Rows silent for WEFT_WORKER_PRUNE_DAYS are deleted when a worker registers. The task types
 * table only grows: a definition naming a type that some worker once served stays valid while
 * no such worker runs (its work waits on its queue).
 *
 * Who writes what: weft-activity registers, heartbeats and stops (activity/presence.h);
 * weft-entry and `weft submit` read the task types (catalog.h), `weft workers` the rows. */
#ifndef WEFT_STORE_WORKER_H
#define WEFT_STORE_WORKER_H

#include "store.h"
#include "task.h"

#include <jansson.h>

#define WEFT_WORKER_PRUNE_DAYS 7

/* What a worker says of itself when it registers; everything borrowed. */
typedef struct {
    const char *id;   /* a new uuid */
    const char *host; /* its host name */
    int pid;
    const char *const *queues; /* the routing queues it consumes (queues.h) */
    size_t nqueues;
    const weft_task_registry *tasks; /* the task types it serves: their names */
    int concurrency;
    const json_t *limits; /* an object: per task type, the most attempts at once */
    int heartbeat_s;      /* how often it heartbeats */
} weft_worker_info;

/* Registers w (borrowed) and records its task types, after forgetting the workers silent for
 * WEFT_WORKER_PRUNE_DAYS. WEFT_EDB on failure (retry). */
weft_status weft_store_worker_register(weft_store *s, const weft_worker_info *w, weft_err *err);

/* Worker id (borrowed) is alive. WEFT_ENOTFOUND when it is not registered (pruned, or marked
 * stopped): register it again. */
weft_status weft_store_worker_heartbeat(weft_store *s, const char *id, weft_err *err);

/* Worker id (borrowed) stopped gracefully. */
weft_status weft_store_worker_stop(weft_store *s, const char *id, weft_err *err);

/* The registered workers, newest first, as a new JSON array (*out) of objects: id, host, pid,
 * queues, tasks, concurrency, limits, heartbeat_s, started_at, heartbeat_at (UTC, ISO 8601),
 * heartbeat_age_s, state ("alive", "lost" or "stopped"). */
weft_status weft_store_workers(weft_store *s, json_t **out, weft_err *err);

/* Declares in r (borrowed) every task type a worker ever declared that r does not know yet;
 * *added (may be NULL) says how many. */
weft_status weft_store_task_types(weft_store *s, weft_task_registry *r, size_t *added,
                                  weft_err *err);

#endif

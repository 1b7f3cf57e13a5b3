/* The logic of the three roles (DESIGN §1), as functions over a store, a lock and a
 * transport, so the consumers and direct mode run the same code. Each function handles one
 * message body and, on WEFT_OK, has committed its state and flushed its follow-up messages:
 * the caller may ack. WEFT_EINVAL/ENOTFOUND/ETOOBIG mean the message can never be processed
 * (dead-letter it with err's reason); infrastructure statuses mean: do not ack, retry later. */
#ifndef WEFT_ENGINE_H
#define WEFT_ENGINE_H

#include "weft_limits.h"
#include "lock.h"
#include "status.h"
#include "store.h"
#include "task.h"
#include "transport.h"

#include <stdbool.h>

typedef struct {
    weft_store *store;               /* borrowed */
    weft_lock *lock;                 /* borrowed; NULL: no Redis lock (direct mode) */
    weft_transport *transport;       /* borrowed */
    const weft_task_registry *tasks; /* borrowed; needed by entry (validation) and activity */
    /* borrowed, may be NULL: entry validates task names against it instead of `tasks` (the
     * built-in ones, its own and every registered worker's: catalog.h) */
    struct weft_catalog *catalog;
    struct weft_runner *runner;      /* borrowed; runs the tasks (activity role only) */
    weft_limits limits;
    const char *worker;    /* borrowed: "host:pid:thread", recorded on attempts */
    const char *worker_id; /* borrowed, may be NULL: the worker's registry id (registry.h),
                              recorded on attempts */
    const char *data_dir; /* borrowed, may be NULL: root of the file tasks */
    int grace_s;          /* after a stop request, how long a running task may finish */
    int lease_s;          /* lease of a running attempt (0: WEFT_LEASE_DEFAULT_S) */
    int ack_after_s;      /* an attempt running this long settles its message early (0: never) */
    struct weft_type_gate *gate; /* borrowed, may be NULL: the worker's limits per task type */
    /* borrowed, may be NULL: the cache of the limits across all workers (global_limit.h),
     * enforced in Redis through `lock` (NULL: not enforced) */
    struct weft_global_limits *global;
    /* WEFT_HANDOFF_SHARDS (queues.h): the handoff queues a workflow's handoffs are spread
     * over, the same in every process (0 counts as 1) */
    int handoff_shards;
} weft_engine;

/* The lease of a running attempt when none is configured. */
#define WEFT_LEASE_DEFAULT_S 30

/* How long an attempt of a type at its worker's limit waits before it comes back: its claim
 * is undone (not counted as an attempt) and its message goes through a delay queue, so the
 * slot takes the next message instead of holding this one. */
#define WEFT_GATE_RETRY_MS 1000

/* workflow_entry: create, idempotent re-submit, resume or cancel. body and message_id (the AMQP
 * message_id, NULL when none) are borrowed. A create without workflow_uid takes its uid from
 * message_id, so redeliveries of one message create one workflow. */
weft_status weft_engine_entry(weft_engine *e, const char *body, size_t len, const char *message_id,
                              weft_err *err);

/* default: run one attempt (in a child process: see runner.h), leased to this worker and
 * the lease renewed while it runs. An attempt still running after ack_after_s settles its
 * message (transport.h) so the broker's consumer_timeout cannot take it away; from then on
 * the lease alone guards it (the sweeper fails it as lost once the lease expires).
 * redelivered: the broker delivered this message before (its previous holder died), so an
 * attempt found `running` is treated as crashed, as is one whose lease expired.
 * WEFT_ESHUTDOWN: a stop request's grace ran out; the attempt was handed back and the
 * message must be returned to the broker, not acked (if it was settled, a new one was
 * sent). */
weft_status weft_engine_activity(weft_engine *e, const char *body, size_t len, bool redelivered,
                                 weft_err *err);

/* workflow_handoff: propagate a terminal attempt and decide the workflow's fate. */
weft_status weft_engine_handoff(weft_engine *e, const char *body, size_t len, weft_err *err);

/* The handoffs of n messages (bodies[i] of lens[i] bytes, borrowed; n <= 64) as one: every
 * workflow's lock taken at once (without waiting), the handoffs one after another in one
 * transaction (one commit), then every follow-up published and confirmed together. The
 * handoffs of one workflow stay serialized: the batch runs them in order, one at a time.
 * WEFT_OK: all of them done. Anything else: none may be taken as done (the transaction
 * rolled back, or a lock was held, or a follow-up is unconfirmed): the caller handles each
 * with weft_engine_handoff, which treats one this batch committed as a duplicate and
 * re-sends what it dispatched. */
weft_status weft_engine_handoff_batch(weft_engine *e, const char *const *bodies,
                                      const size_t *lens, size_t n, weft_err *err);

/* What one sweep is told about the broker and how far it may go. */
typedef struct {
    int older_than_s; /* queued (or finished, for a handoff) longer than this: maybe lost */
    int batch;        /* at most this many of each kind */
    /* The broker holds ready messages in `default` / workflow_handoff: work queued long ago
     * may be waiting there, not lost, so only work WEFT_SWEEP_BACKLOG_FACTOR times older is
     * re-sent (a backlog must not be doubled by duplicates of itself). */
    bool dispatch_backlog;
    bool handoff_backlog;
} weft_sweep_opts;

#define WEFT_SWEEP_BACKLOG_FACTOR 10

typedef struct {
    int lost_dispatches; /* activities re-dispatched */
    int expired_leases;  /* running attempts failed as lost (and retried or handed off) */
    int lost_handoffs;   /* handoffs re-sent */
} weft_sweep_report;

/* The stuck-work sweeper (store_sweep.h): re-dispatches lost dispatches, fails attempts
 * whose lease expired, re-sends lost handoffs, logging each; *report says how many. */
weft_status weft_engine_sweep(weft_engine *e, const weft_sweep_opts *opts,
                              weft_sweep_report *report, weft_err *err);

/* The retry delay before attempt number `retries + 1` of a retry: exponential backoff from
 * the policy, capped, plus up to 20% jitter (never below the policy's figure). */
int weft_engine_retry_delay(const weft_retry_policy *p, int retries, double jitter01);

#endif

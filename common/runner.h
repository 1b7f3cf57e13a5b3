/* Runs task handlers in a task process of its own, one per worker: a crash or a timeout
 * then costs one attempt, not the worker, and the consumer keeps its AMQP connection alive
 * (heartbeats, confirms) while a long handler runs. The process is started on first use
 * and reused from task to task (a fork per task would double the cost of a short task);
 * when it crashes, times out or is abandoned, it is killed and the next task starts a new
 * one. */
#ifndef WEFT_RUNNER_H
#define WEFT_RUNNER_H

#include "task.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct weft_runner weft_runner;

/* Called about every 100 ms while a handler runs; arg is the caller's. */
typedef void (*weft_runner_idle_fn)(void *arg, int ms);

typedef struct {
    int timeout_s; /* 0: none; past it the task process is killed, the attempt TRANSIENT */
    int grace_s;   /* after a stop request, how long the handler may still run */
    weft_runner_idle_fn idle;
    void *idle_arg;
} weft_runner_opts;

/* A runner for the tasks of registry (borrowed; must outlive it). Used by one thread at a
 * time. Free with weft_runner_destroy (accepts NULL), which ends the task process. */
weft_runner *weft_runner_create(const weft_task_registry *tasks);
void weft_runner_destroy(weft_runner *r);

/* Runs task `task` with ctx (borrowed) in the task process and returns its result; on
 * WEFT_TASK_OK *output is a new object, otherwise errbuf holds the reason. A crash or a
 * timeout is WEFT_TASK_TRANSIENT, an unregistered task PERMANENT. *abandoned is set (and the
 * result is meaningless) when a stop request's grace period ran out before the handler
 * finished: the attempt should be handed back, not failed. */
weft_task_result weft_runner_run(weft_runner *r, const char *task, const weft_task_ctx *ctx,
                                 const weft_runner_opts *opts, json_t **output, char *errbuf,
                                 size_t errlen, bool *abandoned);

#endif

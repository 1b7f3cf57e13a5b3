/* Runs one task handler in a child process: a crash or a timeout then costs one attempt,
 * not the worker, and the consumer keeps its AMQP connection alive (heartbeats, confirms)
 * while a long handler runs. */
#ifndef WEFT_RUNNER_H
#define WEFT_RUNNER_H

#include "task.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Called about every 100 ms while the handler runs; arg is the caller's. */
typedef void (*weft_runner_idle_fn)(void *arg, int ms);

typedef struct {
    int timeout_s; /* 0: none; past it the child is killed and the attempt is TRANSIENT */
    int grace_s;   /* after a stop request, how long the handler may still run */
    weft_runner_idle_fn idle;
    void *idle_arg;
} weft_runner_opts;

/* Runs fn(ctx) in a child process and returns its result; on WEFT_TASK_OK *output is a new
 * object, otherwise errbuf holds the reason. A crash or a timeout is WEFT_TASK_TRANSIENT.
 * *abandoned is set (and the result is meaningless) when a stop request's grace period ran
 * out before the handler finished: the attempt should be handed back, not failed. */
weft_task_result weft_runner_run(weft_task_fn fn, const weft_task_ctx *ctx,
                                 const weft_runner_opts *opts, json_t **output, char *errbuf,
                                 size_t errlen, bool *abandoned);

#endif

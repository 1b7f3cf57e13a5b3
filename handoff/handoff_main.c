/* weft-handoff: the singleton (single active consumer, prefetch 1) that propagates finished
 * attempts, dispatches what became ready and decides completion or failure. Standbys wait
 * as hot spares. Also runs the stuck-work sweeper. */
#include "consumer.h"
#include "engine.h"
#include "log.h"
#include "runtime.h"
#include "stop.h"

#include <stdlib.h>

static const char usage[] =
    "usage: weft-handoff [--sweep-interval S] [--sweep-after S] [--log-level L]\n"
    "Consumes workflow_handoff with prefetch 1 (run one; extra copies are hot standbys).\n"
    "Every --sweep-interval seconds (default 30, 0 = off) it re-dispatches activities that\n"
    "sat queued longer than --sweep-after seconds (default 120).";

typedef struct {
    weft_engine engine;
    int sweep_after_s;
} handoff_ctx;

static weft_status handle(void *ctx, weft_transport *t, const weft_delivery *d, weft_err *err)
{
    handoff_ctx *h = ctx;
    h->engine.transport = t;
    return weft_engine_handoff(&h->engine, d->body, d->len, err);
}

static weft_status sweep(void *ctx, weft_transport *t, weft_err *err)
{
    handoff_ctx *h = ctx;
    h->engine.transport = t;
    int n = 0;
    weft_status st = weft_engine_sweep(&h->engine, h->sweep_after_s, &n, err);
    if (!st && n > 0)
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "sweeper re-dispatched %d stuck activities", n);
    return st;
}

int main(int argc, char **argv)
{
    weft_config cfg;
    weft_runtime_init(argc, argv, "weft-handoff", usage, &cfg);
    weft_stop_install();
    weft_store *store = weft_runtime_store(&cfg);
    weft_lock *lock = store ? weft_runtime_lock(&cfg) : NULL;
    char *worker = weft_runtime_worker_id("handoff");
    int rc = 0;
    if (store && lock) {
        handoff_ctx h = {.engine = {.store = store,
                                    .lock = lock,
                                    .limits = cfg.limits,
                                    .worker = worker,
                                    .data_dir = cfg.data_dir},
                         .sweep_after_s = cfg.sweep_after_s};
        /* prefetch is fixed at 1: completion checks must stay serialized (DESIGN §1) */
        weft_consumer c = {.name = "handoff",
                           .queue = WEFT_QUEUE_HANDOFF,
                           .prefetch = 1,
                           .amqp_url = cfg.amqp_url,
                           .amqp_cacert = cfg.amqp_cacert,
                           .max_message_bytes = cfg.limits.max_message_bytes,
                           .handle = handle,
                           .ctx = &h,
                           .tick = cfg.sweep_interval_s > 0 ? sweep : NULL,
                           .tick_interval_ms = cfg.sweep_interval_s * 1000};
        rc = weft_consumer_run(&c);
    }
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "stopped");
    free(worker);
    weft_lock_destroy(lock);
    weft_store_destroy(store);
    weft_config_finish(&cfg);
    return rc;
}

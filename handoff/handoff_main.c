/* weft-handoff: the singleton (single active consumer, prefetch 1) that propagates finished
 * attempts, dispatches what became ready and decides completion or failure. Standbys wait
 * as hot spares. Also runs the stuck-work sweeper, on a thread of its own (sweeper.h). */
#include "consumer.h"
#include "engine.h"
#include "log.h"
#include "runtime.h"
#include "stop.h"
#include "sweeper.h"

#include <stdlib.h>

static const char usage[] =
    "usage: weft-handoff [--sweep-interval S] [--sweep-after S] [--sweep-batch N]\n"
    "                    [--metrics HOST:PORT] [--log-level L]\n"
    "Consumes workflow_handoff with prefetch 1 (run one; extra copies are hot standbys).\n"
    "One of them at a time (a Redis leader lock) sweeps every --sweep-interval seconds\n"
    "(default 30, 0 = off): it re-dispatches activities queued longer than --sweep-after\n"
    "seconds (default 120; ten times that while the broker holds a backlog), re-sends\n"
    "handoffs not run by then, and fails attempts whose lease expired (a lost worker), at\n"
    "most --sweep-batch of each kind per sweep (default 1000). --metrics HOST:PORT\n"
    "(WEFT_METRICS_ADDR) serves Prometheus /metrics and /healthz.";

static weft_status handle(void *ctx, weft_transport *t, const weft_delivery *d, weft_err *err)
{
    weft_engine *e = ctx;
    e->transport = t;
    return weft_engine_handoff(e, d->body, d->len, err);
}

int main(int argc, char **argv)
{
    weft_config cfg;
    weft_runtime_init(argc, argv, "weft-handoff", usage, &cfg);
    weft_stop_install();
    weft_http_server *metrics = weft_runtime_metrics(&cfg, 1);
    weft_store *store = weft_runtime_store(&cfg);
    weft_lock *lock = store ? weft_runtime_lock(&cfg) : NULL;
    char *worker = weft_runtime_worker_id("handoff");
    int rc = 0;
    if (store && lock) {
        weft_engine e = {.store = store,
                         .lock = lock,
                         .limits = cfg.limits,
                         .worker = worker,
                         .data_dir = cfg.data_dir};
        weft_sweeper *sweeper = weft_sweeper_start(&cfg);
        /* prefetch is fixed at 1: completion checks must stay serialized (DESIGN §1) */
        weft_consumer c = {.name = "handoff",
                           .queues = (const char *const[]){WEFT_QUEUE_HANDOFF},
                           .nqueues = 1,
                           .prefetch = 1,
                           .amqp_url = cfg.amqp_url,
                           .amqp_cacert = cfg.amqp_cacert,
                           .max_message_bytes = cfg.limits.max_message_bytes,
                           .handle = handle,
                           .ctx = &e};
        rc = weft_consumer_run(&c);
        weft_sweeper_join(sweeper);
    }
    weft_http_stop(metrics);
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "stopped");
    free(worker);
    weft_lock_destroy(lock);
    weft_store_destroy(store);
    weft_config_finish(&cfg);
    return rc;
}

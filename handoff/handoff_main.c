/* weft-handoff: the consumer (single active consumer, one message at a time, committed in
 * batches) of the handoff shards it serves: it propagates finished attempts, dispatches what became ready and decides
 * completion or failure. One thread per shard, each with its own Postgres, Redis and
 * RabbitMQ connections, so the shards run side by side while each stays one handoff at a
 * time (queues.h). A second process serving a shard is its hot standby. Also runs the
 * stuck-work sweeper, on a thread of its own (sweeper.h). */
#include "consumer.h"
#include "engine.h"
#include "lock.h"
#include "log.h"
#include "queues.h"
#include "runtime.h"
#include "stop.h"
#include "sweeper.h"

#include "alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: weft-handoff [--handoff-shards N] [--shard K[,K...] | --shards all] [--handoff-batch N]\n"
    "                    [--sweep-interval S] [--sweep-after S] [--sweep-batch N]\n"
    "                    [--metrics HOST:PORT] [--log-level L]\n"
    "Consumes the handoff shards, one thread per shard, each handling its messages one after\n"
    "another; --handoff-batch N (WEFT_HANDOFF_BATCH, default 32, 1..64) is its prefetch and\n"
    "how many of the messages already delivered it commits in one transaction. --handoff-shards N\n"
    "(WEFT_HANDOFF_SHARDS, default 1; the same N in every weft process) spreads the\n"
    "workflows over N queues: workflow_handoff, workflow_handoff.1, ... It serves every\n"
    "shard (--shards all, the default) or those --shard names; a second process serving\n"
    "a shard is a hot standby that takes over when the active one dies.\n"
    "One of them at a time (a Redis leader lock) sweeps every --sweep-interval seconds\n"
    "(default 30, 0 = off): it re-dispatches activities queued longer than --sweep-after\n"
    "seconds (default 120; ten times that while the broker holds a backlog), re-sends\n"
    "handoffs not run by then, and fails attempts whose lease expired (a lost worker), at\n"
    "most --sweep-batch of each kind per sweep (default 1000). --metrics HOST:PORT\n"
    "(WEFT_METRICS_ADDR) serves Prometheus /metrics and /healthz.";

/* One served shard: its queue, its thread and what the thread connects with. */
typedef struct {
    const weft_config *cfg;
    int shard;
    char queue[WEFT_QUEUE_HANDOFF_MAX];
    char name[32]; /* "handoff" with one shard, else "handoff-<k>": log lines and metrics */
    pthread_t thread;
} shard_consumer;

static weft_status handle(void *ctx, weft_transport *t, const weft_delivery *d, weft_err *err)
{
    weft_engine *e = ctx;
    e->transport = t;
    return weft_engine_handoff(e, d->body, d->len, err);
}

static weft_status handle_batch(void *ctx, weft_transport *t, const weft_delivery *ds, size_t n,
                                weft_err *err)
{
    weft_engine *e = ctx;
    e->transport = t;
    const char *bodies[WEFT_LOCK_MANY_MAX];
    size_t lens[WEFT_LOCK_MANY_MAX];
    for (size_t i = 0; i < n && i < WEFT_LOCK_MANY_MAX; i++) {
        bodies[i] = ds[i].body;
        lens[i] = ds[i].len;
    }
    return weft_engine_handoff_batch(e, bodies, lens, n, err);
}

static void *shard_main(void *arg)
{
    shard_consumer *s = arg;
    const weft_config *cfg = s->cfg;
    weft_store *store = weft_runtime_store(cfg);
    weft_lock *lock = store ? weft_runtime_lock(cfg) : NULL;
    char *worker = weft_runtime_worker_id(s->name);
    if (store && lock) {
        weft_engine e = {.store = store,
                         .lock = lock,
                         .limits = cfg->limits,
                         .worker = worker,
                         .data_dir = cfg->data_dir,
                         .handoff_shards = cfg->handoff_shards};
        /* One thread per shard handles its messages one after another, so completion checks
         * stay serialized (DESIGN §1); what prefetch 1 would add, a handoff committed and
         * confirmed before the next is read, it trades for batches (README: The handoff's
         * batches): the deliveries already here commit together, in order. */
        const char *queues[] = {s->queue};
        weft_consumer c = {.name = s->name,
                           .queues = queues,
                           .nqueues = 1,
                           .prefetch = cfg->handoff_batch,
                           .handle_batch = handle_batch,
                           .batch = cfg->handoff_batch,
                           .amqp_url = cfg->amqp_url,
                           .amqp_cacert = cfg->amqp_cacert,
                           .max_message_bytes = cfg->limits.max_message_bytes,
                           .handle = handle,
                           .ctx = &e};
        weft_consumer_run(&c);
    }
    free(worker);
    weft_lock_destroy(lock);
    weft_store_destroy(store);
    return NULL;
}

/* The shards this process serves, in order; exits with status 2 when --shard names one that
 * --handoff-shards does not have. Returns how many were written to out. */
static int served_shards(const weft_config *cfg, shard_consumer out[WEFT_HANDOFF_SHARDS_MAX])
{
    int n = 0;
    for (int k = 0; k < WEFT_HANDOFF_SHARDS_MAX; k++) {
        bool asked = cfg->handoff_serve & (UINT64_C(1) << k);
        if (asked && k >= cfg->handoff_shards) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "--shard %d: there are %d handoff shards (--handoff-shards, "
                     "WEFT_HANDOFF_SHARDS), numbered 0..%d",
                     k, cfg->handoff_shards, cfg->handoff_shards - 1);
            weft_runtime_exit_config(msg);
        }
        if (k >= cfg->handoff_shards || (cfg->handoff_serve && !asked))
            continue;
        shard_consumer *s = &out[n++];
        s->cfg = cfg;
        s->shard = k;
        weft_queue_handoff_name(k, s->queue);
        if (cfg->handoff_shards == 1)
            snprintf(s->name, sizeof s->name, "handoff");
        else
            snprintf(s->name, sizeof s->name, "handoff-%d", k);
    }
    return n;
}

int main(int argc, char **argv)
{
    weft_config cfg;
    weft_runtime_init(argc, argv, "weft-handoff", usage, &cfg);
    weft_stop_install();
    shard_consumer *shards = weft_xcalloc(WEFT_HANDOFF_SHARDS_MAX, sizeof *shards);
    int n = served_shards(&cfg, shards);
    if (cfg.handoff_shards > 1) /* one shard: the log of a single handoff, unchanged */
        WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "serving %d of %d handoff shards", n,
                 cfg.handoff_shards);
    weft_http_server *metrics = weft_runtime_metrics(&cfg, n);
    weft_sweeper *sweeper = weft_sweeper_start(&cfg);
    int started = 0;
    for (; started < n; started++)
        if (pthread_create(&shards[started].thread, NULL, shard_main, &shards[started]) != 0) {
            WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL, "cannot start the thread of handoff shard %d",
                     shards[started].shard);
            weft_stop_requested = 1;
            break;
        }
    for (int i = 0; i < started; i++)
        pthread_join(shards[i].thread, NULL);
    weft_sweeper_join(sweeper);
    weft_http_stop(metrics);
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "stopped");
    free(shards);
    weft_config_finish(&cfg);
    return started == n ? 0 : 1;
}

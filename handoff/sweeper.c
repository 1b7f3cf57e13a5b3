#include "sweeper.h"

#include "alloc.h"
#include "broker_transport.h"
#include "clock.h"
#include "engine.h"
#include "log.h"
#include "queues.h"
#include "runtime.h"
#include "stop.h"

#include <stdlib.h>

#define LEADER_KEY "weft:lock:sweeper"
#define HEARTBEAT_S 30

struct weft_sweeper {
    pthread_t thread;
    const weft_config *cfg;
};

/* Holds or takes the leadership for three intervals; false when another process has it or
 * Redis cannot say. token is "" while not the leader. */
static bool lead(weft_lock *lock, int interval_s, char token[WEFT_LOCK_TOKEN_LEN + 1])
{
    weft_err err;
    int lease_ms = 3 * interval_s * 1000;
    if (token[0]) {
        weft_status st = weft_lock_renew(lock, LEADER_KEY, token, lease_ms, &err);
        if (st == WEFT_OK)
            return true;
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "sweeper: leadership lost: %s", err.msg);
        token[0] = '\0';
        if (st != WEFT_ESTALE)
            return false;
    }
    weft_status st = weft_lock_acquire(lock, LEADER_KEY, lease_ms, 0, token, &err);
    if (st == WEFT_OK) {
        WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "sweeper: this process leads the sweeps");
        return true;
    }
    if (st != WEFT_EBUSY)
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "sweeper: %s", err.msg);
    return false;
}

static uint32_t ready_in(weft_broker *b, const char *queue, weft_status *st, weft_err *err)
{
    uint32_t ready = 0, consumers = 0;
    if (!*st)
        *st = weft_broker_queue_info(b, queue, &ready, &consumers, err);
    return ready;
}

/* One sweep over connections already open; WEFT_EAMQP asks for a new broker connection. */
static weft_status sweep_once(const weft_config *cfg, weft_engine *e, weft_broker *b, weft_err *err)
{
    weft_status st = WEFT_OK;
    uint32_t dispatches = ready_in(b, WEFT_QUEUE_DEFAULT, &st, err);
    uint32_t handoffs = 0;
    for (int k = 0; k < cfg->handoff_shards; k++) {
        char shard[WEFT_QUEUE_HANDOFF_MAX];
        handoffs += ready_in(b, weft_queue_handoff_name(k, shard), &st, err);
    }
    if (st)
        return st;
    weft_sweep_opts o = {.older_than_s = cfg->sweep_after_s,
                         .batch = cfg->sweep_batch,
                         .dispatch_backlog = dispatches > 0,
                         .handoff_backlog = handoffs > 0};
    WEFT_LOG(WEFT_LOG_DEBUG, NULL, NULL,
             "sweep: %u ready in %s, %u in %s (%d shards): re-sending what waited over %d s"
             " and %d s",
             dispatches, WEFT_QUEUE_DEFAULT, handoffs, WEFT_QUEUE_HANDOFF, cfg->handoff_shards,
             o.older_than_s * (o.dispatch_backlog ? WEFT_SWEEP_BACKLOG_FACTOR : 1),
             o.older_than_s * (o.handoff_backlog ? WEFT_SWEEP_BACKLOG_FACTOR : 1));
    weft_sweep_report r;
    st = weft_engine_sweep(e, &o, &r, err);
    int n = r.lost_dispatches + r.expired_leases + r.lost_handoffs;
    if (n > 0)
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL,
                 "sweep: re-sent %d (lost dispatches %d, expired leases %d, lost handoffs %d)", n,
                 r.lost_dispatches, r.expired_leases, r.lost_handoffs);
    return st;
}

/* Waits ms, servicing the broker connection meanwhile (heartbeats) so it outlives long
 * intervals; a connection that fails is dropped, to be opened again when needed. */
static void wait_interval(weft_broker **b, int ms)
{
    int64_t end = weft_clock_ms() + ms;
    for (int64_t left = ms; left > 0 && !weft_stop_requested; left = end - weft_clock_ms()) {
        int slice = left < 1000 ? (int)left : 1000;
        if (*b && weft_broker_pump(*b, slice, NULL) != WEFT_OK) {
            weft_broker_destroy(*b);
            *b = NULL;
        } else if (!*b) {
            weft_stop_sleep_ms(slice);
        }
    }
}

static void *sweeper_main(void *arg)
{
    weft_sweeper *s = arg;
    const weft_config *cfg = s->cfg;
    weft_store *store = weft_runtime_store(cfg);
    weft_lock *lock = store ? weft_runtime_lock(cfg) : NULL;
    char *worker = weft_runtime_worker_id("sweeper");
    char token[WEFT_LOCK_TOKEN_LEN + 1] = "";
    weft_broker *b = NULL;
    weft_broker_transport t;
    weft_engine e = {.store = store,
                     .limits = cfg->limits,
                     .worker = worker,
                     .handoff_shards = cfg->handoff_shards};
    while (store && lock && !weft_stop_requested) {
        wait_interval(&b, cfg->sweep_interval_s * 1000);
        if (weft_stop_requested || !lead(lock, cfg->sweep_interval_s, token))
            continue;
        weft_err err = {0};
        if (!b && weft_broker_connect(cfg->amqp_url, cfg->amqp_cacert, HEARTBEAT_S, &b, &err)) {
            WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "sweeper: %s", err.msg);
            continue;
        }
        weft_broker_transport_init(&t, b);
        e.transport = &t.base;
        weft_status st = sweep_once(cfg, &e, b, &err);
        if (st)
            WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "sweeper: %s", err.msg);
        if (st == WEFT_EAMQP) {
            weft_broker_destroy(b);
            b = NULL;
        }
    }
    if (token[0]) {
        weft_err err;
        weft_lock_release(lock, LEADER_KEY, token, &err);
    }
    weft_broker_destroy(b);
    free(worker);
    weft_lock_destroy(lock);
    weft_store_destroy(store);
    return NULL;
}

weft_sweeper *weft_sweeper_start(const weft_config *cfg)
{
    if (cfg->sweep_interval_s <= 0)
        return NULL;
    weft_sweeper *s = weft_xcalloc(1, sizeof *s);
    s->cfg = cfg;
    if (pthread_create(&s->thread, NULL, sweeper_main, s) != 0) {
        WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL, "cannot start the sweeper thread");
        free(s);
        return NULL;
    }
    return s;
}

void weft_sweeper_join(weft_sweeper *s)
{
    if (!s)
        return;
    pthread_join(s->thread, NULL);
    free(s);
}

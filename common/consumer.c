#include "consumer.h"

#include "backoff.h"
#include "broker_transport.h"
#include "clock.h"
#include "log.h"
#include "runtime.h"
#include "stop.h"
#include "telemetry.h"

#include "alloc.h"

#include <malloc.h>

#define HEARTBEAT_S 30
#define POLL_MS 200
/* rabbitmq-c keeps the pool pages a message was read into for the life of the connection,
 * so a connection that carried a body this big is replaced once the message is settled. */
#define RECONNECT_AFTER_BYTES (1024u * 1024u)

/* What a consumer did over its life, logged when it stops: the per-message cost of the
 * handoff singleton is the figure that bounds throughput. */
typedef struct {
    long messages;
    long batches;         /* handled together (handle_batch) ... */
    long batched;         /* ... holding this many of the messages */
    double busy_ms;
    double outage_since; /* weft_clock_s() when it began; 0 when all is well */
} consumer_stats;

/* One line when an outage starts and one when it ends, however many retries between. */
static void outage_begin(const weft_consumer *c, consumer_stats *stats, const char *what)
{
    if (stats->outage_since == 0) {
        stats->outage_since = weft_clock_s();
        WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL, "%s: %s; retrying with backoff", c->name, what);
    } else {
        WEFT_LOG(WEFT_LOG_DEBUG, NULL, NULL, "%s: still failing: %s", c->name, what);
    }
}

static void outage_end(const weft_consumer *c, consumer_stats *stats)
{
    if (stats->outage_since == 0)
        return;
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "%s: recovered after %.1f s", c->name,
             weft_clock_s() - stats->outage_since);
    stats->outage_since = 0;
}

/* The state of one connection's serving loop, shared by its single and batched paths. */
typedef struct {
    const weft_consumer *c;
    weft_broker *b;
    weft_broker_transport t;
    weft_backoff *backoff;
    consumer_stats *stats;
    int64_t healthy_from;
} serving;

/* Handles d (owned: finished here) by itself and settles it by the handler's status. Returns
 * WEFT_OK to go on, else what serve returns (the connection is to be dropped). */
static weft_status handle_one(serving *sv, weft_delivery *d)
{
    const weft_consumer *c = sv->c;
    weft_err err = {0};
    weft_status st;
    double t0 = weft_clock_s();
    if (d->oversize)
        st = weft_err_set(&err, WEFT_ETOOBIG,
                          "message of %zu bytes is over the limit of %zu bytes"
                          " (WEFT_MAX_MESSAGE_BYTES); weft.dead keeps its first %zu bytes",
                          d->oversize, c->max_message_bytes, d->len);
    else {
        weft_broker_transport_begin(&sv->t, d->tag);
        st = c->handle(c->ctx, &sv->t.base, d, &err);
    }
    const char *queue = d->queue ? d->queue : c->queues[0];
    weft_err aerr = {0};
    weft_status ast;
    if (sv->t.settled) {
        /* acknowledged by the handler already (a long attempt, transport.h): nothing to
         * settle, whatever the outcome — the store's lease took over; consume again */
        if (st && st != WEFT_ESHUTDOWN)
            WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "%s: %s (message acknowledged earlier)", c->name,
                     err.msg);
        sv->t.settled = false;
        ast = weft_stop_requested ? WEFT_OK : weft_broker_resume(sv->b, &aerr);
        if (st == WEFT_OK)
            weft_backoff_reset(sv->backoff);
    } else if (st == WEFT_OK) {
        ast = weft_broker_ack(sv->b, d->tag, &aerr);
        weft_telemetry_message(queue, "acked");
        weft_backoff_reset(sv->backoff);
        outage_end(c, sv->stats);
    } else if (st == WEFT_ESHUTDOWN) {
        WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "%s: unfinished message returned to the broker",
                 c->name);
        ast = weft_broker_reject(sv->b, d->tag, true, &aerr);
        weft_telemetry_message(queue, "requeued");
    } else if (weft_status_is_poison(st)) {
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "%s: message rejected to %s: %s", c->name,
                 WEFT_QUEUE_DEAD, err.msg);
        ast = weft_broker_dead_letter(sv->b, d, queue, err.msg, &aerr);
        weft_telemetry_message(queue, "dead_lettered");
        weft_backoff_reset(sv->backoff);
    } else {
        /* infrastructure: leave the message to the broker and slow down */
        outage_begin(c, sv->stats, err.msg);
        ast = st == WEFT_EAMQP ? WEFT_EAMQP : weft_broker_reject(sv->b, d->tag, true, &aerr);
        weft_telemetry_message(queue, "requeued");
        weft_delivery_finish(d);
        if (ast)
            return WEFT_EAMQP; /* the caller waits before reconnecting */
        weft_stop_sleep_ms(weft_backoff_next(sv->backoff));
        sv->healthy_from = weft_clock_ms();
        return WEFT_OK;
    }
    bool big = d->len > RECONNECT_AFTER_BYTES;
    weft_delivery_finish(d);
    sv->stats->messages++;
    sv->stats->busy_ms += (weft_clock_s() - t0) * 1000.0;
    if (ast) {
        outage_begin(c, sv->stats, aerr.msg);
        return ast;
    }
    return big ? WEFT_ESTALE : WEFT_OK;
}

/* Adds to ds[1..) the deliveries already here, up to c->batch in all; stops after an
 * oversize one (the caller handles it by itself) and when the broker blocks the connection
 * (its publishes would not be read). Returns how many ds holds. */
static size_t gather(serving *sv, weft_delivery *ds)
{
    size_t n = 1;
    while (n < (size_t)sv->c->batch && !ds[n - 1].oversize && !weft_stop_requested &&
           !weft_broker_blocked(sv->b)) {
        weft_err err = {0};
        /* a failure shows again, with its reason, at the next call that needs the broker */
        if (weft_broker_next(sv->b, 0, &ds[n], &err))
            break;
        n++;
    }
    return n;
}

/* Handles ds[0..n) (owned: finished here) together with c->handle_batch and acknowledges
 * them in one frame; when the batch fails, each is handled by itself (handle_one), which
 * repeats safely what the batch may have done. Returns as handle_one does. */
static weft_status handle_batch(serving *sv, weft_delivery *ds, size_t n)
{
    const weft_consumer *c = sv->c;
    weft_err err = {0};
    double t0 = weft_clock_s();
    /* settle is for one message: not offered to a batch */
    weft_status (*settle)(weft_transport *, weft_err *) = sv->t.base.settle;
    sv->t.base.settle = NULL;
    weft_status st = c->handle_batch(c->ctx, &sv->t.base, ds, n, &err);
    sv->t.base.settle = settle;
    size_t i = 0;
    if (st == WEFT_OK) {
        weft_err aerr = {0};
        weft_status ast = weft_broker_ack_through(sv->b, ds[n - 1].tag, &aerr);
        bool big = false;
        for (; i < n; i++) {
            weft_telemetry_message(ds[i].queue ? ds[i].queue : c->queues[0], "acked");
            big |= ds[i].len > RECONNECT_AFTER_BYTES;
            weft_delivery_finish(&ds[i]);
        }
        sv->stats->messages += (long)n;
        sv->stats->batches++;
        sv->stats->batched += (long)n;
        sv->stats->busy_ms += (weft_clock_s() - t0) * 1000.0;
        weft_backoff_reset(sv->backoff);
        outage_end(c, sv->stats);
        if (ast)
            outage_begin(c, sv->stats, aerr.msg);
        return ast ? ast : big ? WEFT_ESTALE : WEFT_OK;
    }
    WEFT_LOG(WEFT_LOG_DEBUG, NULL, NULL, "%s: batch of %zu not done (%s): one at a time",
             c->name, n, err.msg);
    weft_status rst = WEFT_OK;
    /* a stop (the batch's own WEFT_ESHUTDOWN included) ends it after the current message */
    for (; i < n && rst == WEFT_OK && !weft_stop_requested; i++)
        rst = handle_one(sv, &ds[i]);
    /* unsettled: the broker redelivers them once the connection closes (a stop, a failure) */
    for (; i < n; i++)
        weft_delivery_finish(&ds[i]);
    return rst;
}

/* Serves one connection until it fails or a stop is requested. The backoff series is not
 * restarted by a connection that merely opened (a message that keeps failing would then be
 * retried every few hundred ms for ever): only by a message handled, or by a connection that
 * stayed healthy for a whole capped wait. Infrastructure failures raise it. */
static weft_status serve(const weft_consumer *c, weft_broker *b, weft_backoff *backoff,
                         consumer_stats *stats)
{
    weft_err err = {0};
    weft_status st = weft_broker_consume(b, c->queues, c->nqueues, c->prefetch, &err);
    if (st) {
        outage_begin(c, stats, err.msg);
        return st;
    }
    serving sv = {.c = c, .b = b, .backoff = backoff, .stats = stats};
    weft_broker_transport_init(&sv.t, b);
    sv.healthy_from = weft_clock_ms();
    bool batching = c->handle_batch && c->batch > 1;
    weft_delivery *ds = batching ? weft_xcalloc((size_t)c->batch, sizeof *ds) : NULL;
    long trimmed_at = stats->messages;
    st = WEFT_OK;
    while (!weft_stop_requested && st == WEFT_OK) {
        if (weft_broker_blocked(b)) {
            /* a resource alarm: take no message whose publishes the broker would not read; keep the
             * connection serviced until it clears */
            st = weft_broker_pump(b, POLL_MS, &err);
            if (st)
                outage_begin(c, stats, err.msg);
            continue;
        }
        weft_delivery d;
        st = weft_broker_next(b, POLL_MS, &d, &err);
        if (st == WEFT_ETIMEOUT) {
            st = WEFT_OK;
            if (weft_clock_ms() - sv.healthy_from >= WEFT_BACKOFF_MAX_MS)
                weft_backoff_reset(backoff);
            /* idle: hand the heap that a big workflow left behind back to the system, so an
             * idle consumer's RSS stays what it was before the burst */
            if (stats->messages != trimmed_at) {
                malloc_trim(0);
                trimmed_at = stats->messages;
            }
            continue;
        }
        if (st) {
            outage_begin(c, stats, err.msg);
            break;
        }
        size_t n = 1;
        if (batching) {
            ds[0] = d;
            n = gather(&sv, ds);
        }
        if (n == 1) {
            st = handle_one(&sv, &d);
            continue;
        }
        /* an oversize one ends the gathering and goes after the batch, by itself */
        bool tail = ds[n - 1].oversize != 0;
        size_t m = tail ? n - 1 : n;
        st = m > 1 ? handle_batch(&sv, ds, m) : handle_one(&sv, &ds[0]);
        if (tail && st == WEFT_OK && !weft_stop_requested)
            st = handle_one(&sv, &ds[n - 1]);
        else if (tail)
            weft_delivery_finish(&ds[n - 1]); /* redelivered once the connection closes */
    }
    free(ds);
    return st;
}

static void log_consuming(const weft_consumer *c)
{
    char list[512] = "";
    size_t pos = 0;
    for (size_t i = 0; i < c->nqueues && pos < sizeof list; i++)
        pos +=
            (size_t)snprintf(list + pos, sizeof list - pos, "%s'%s'", i ? ", " : "", c->queues[i]);
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "%s: consuming %s (prefetch %d)", c->name, list,
             c->prefetch);
}

int weft_consumer_run(const weft_consumer *c)
{
    weft_backoff backoff = WEFT_BACKOFF_INIT(WEFT_BACKOFF_MAX_MS);
    consumer_stats stats = {0};
    bool first = true;
    bool lost = false; /* the last connection ended on a failure, not on purpose */
    weft_telemetry_consumer_connected(c->name, false);
    while (!weft_stop_requested) {
        weft_err err = {0};
        weft_broker *b = NULL;
        weft_status st = weft_broker_connect(c->amqp_url, c->amqp_cacert, HEARTBEAT_S, &b, &err);
        /* Refused configuration (the URL, the broker's certificate) ends the process at start.
         * Once it has connected, the configuration was right: a certificate that stops
         * verifying later is the broker's change, waited out like an outage. */
        if (st == WEFT_EINVAL && first)
            weft_runtime_exit_config(err.msg);
        if (st) {
            outage_begin(c, &stats, err.msg);
            weft_stop_sleep_ms(weft_backoff_next(&backoff));
            continue;
        }
        if (first)
            log_consuming(c);
        first = false;
        if (lost)
            weft_telemetry_reconnect("amqp");
        weft_broker_limit_body(b, c->max_message_bytes);
        weft_telemetry_consumer_connected(c->name, true);
        st = serve(c, b, &backoff, &stats);
        weft_telemetry_consumer_connected(c->name, false);
        lost = st != WEFT_OK && st != WEFT_ESTALE;
        weft_broker_destroy(b);
        if (st == WEFT_ESTALE) /* replaced on purpose (see RECONNECT_AFTER_BYTES) */
            malloc_trim(0);
        else if (st && !weft_stop_requested)
            weft_stop_sleep_ms(weft_backoff_next(&backoff));
    }
    char batches[96] = "";
    if (c->handle_batch && c->batch > 1)
        snprintf(batches, sizeof batches, "; %ld of them in %ld batches", stats.batched,
                 stats.batches);
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL,
             "%s: stopping; handled %ld messages, busy %.1f ms (%.1f us per message)%s", c->name,
             stats.messages, stats.busy_ms,
             stats.messages ? stats.busy_ms * 1000.0 / (double)stats.messages : 0.0, batches);
    return 0;
}

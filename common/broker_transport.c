#include "broker_transport.h"

/* Confirms normally come back within milliseconds; a minute means the broker is in trouble
 * and the message is better redelivered than acked. Time blocked by a resource alarm does
 * not count (weft_broker_wait_confirms). */
#define CONFIRM_TIMEOUT_MS 60000

static weft_broker *broker_of(weft_transport *t)
{
    return ((weft_broker_transport *)t)->broker;
}

static weft_status bt_publish(weft_transport *t, const char *queue, const char *body, size_t len,
                              int priority, weft_err *err)
{
    return weft_broker_publish(broker_of(t), queue, body, len, priority, err);
}

static weft_status bt_publish_delayed(weft_transport *t, const char *queue, const char *body,
                                      size_t len, int priority, int delay_ms, weft_err *err)
{
    return weft_broker_publish_delayed(broker_of(t), queue, body, len, priority, delay_ms, NULL,
                                       err);
}

static weft_status bt_flush(weft_transport *t, weft_err *err)
{
    weft_broker_on_wait(broker_of(t), t->on_wait, t->on_wait_arg);
    weft_status st = weft_broker_wait_confirms(broker_of(t), CONFIRM_TIMEOUT_MS, err);
    weft_broker_on_wait(broker_of(t), NULL, NULL);
    return st;
}

/* Cancel first, then ack: with the delivery still unacknowledged and prefetch 1 the broker
 * sends nothing more, so no second message waits here, unacknowledged, behind a long one. */
static weft_status bt_settle(weft_transport *t, weft_err *err)
{
    weft_broker_transport *bt = (weft_broker_transport *)t;
    if (bt->settled)
        return WEFT_OK;
    weft_status st = weft_broker_pause(bt->broker, err);
    if (!st)
        st = weft_broker_ack(bt->broker, bt->tag, err);
    if (!st)
        bt->settled = true;
    return st;
}

static void bt_idle(weft_transport *t, int ms)
{
    /* a failure shows up again, with its reason, at the next publish */
    weft_broker_pump(broker_of(t), ms, NULL);
}

void weft_broker_transport_init(weft_broker_transport *t, weft_broker *b)
{
    t->base.publish = bt_publish;
    t->base.publish_delayed = bt_publish_delayed;
    t->base.flush = bt_flush;
    t->base.idle = bt_idle;
    t->base.settle = bt_settle;
    t->base.on_wait = NULL;
    t->base.on_wait_arg = NULL;
    t->broker = b;
    t->tag = 0;
    t->settled = false;
}

void weft_broker_transport_begin(weft_broker_transport *t, uint64_t tag)
{
    t->tag = tag;
    t->settled = false;
}

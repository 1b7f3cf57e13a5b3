#include "broker_transport.h"

#include <stdlib.h>
#include <string.h>

/* Confirms normally come back within milliseconds; a minute means the broker is in trouble
 * and the message is better redelivered than acked. */
#define CONFIRM_TIMEOUT_MS 60000

static weft_status bt_publish(weft_transport *t, const char *queue, const char *body, size_t len,
                              int priority, weft_err *err)
{
    weft_broker_transport *bt = (weft_broker_transport *)t;
    weft_status st = WEFT_OK;
    for (int i = 0; !st && i < bt->copies; i++)
        st = weft_broker_publish(bt->broker, queue, body, len, priority, err);
    return st;
}

static weft_status bt_publish_delayed(weft_transport *t, const char *body, size_t len, int priority,
                                      int delay_ms, weft_err *err)
{
    weft_broker_transport *bt = (weft_broker_transport *)t;
    weft_status st = WEFT_OK;
    for (int i = 0; !st && i < bt->copies; i++)
        st = weft_broker_publish_delayed(bt->broker, body, len, priority, delay_ms, NULL, err);
    return st;
}

static weft_status bt_flush(weft_transport *t, weft_err *err)
{
    return weft_broker_wait_confirms(((weft_broker_transport *)t)->broker, CONFIRM_TIMEOUT_MS, err);
}

static void bt_idle(weft_transport *t, int ms)
{
    /* a failure shows up again, with its reason, at the next publish */
    weft_broker_pump(((weft_broker_transport *)t)->broker, ms, NULL);
}

void weft_broker_transport_init(weft_broker_transport *t, weft_broker *b)
{
    t->base.publish = bt_publish;
    t->base.publish_delayed = bt_publish_delayed;
    t->base.flush = bt_flush;
    t->base.idle = bt_idle;
    t->broker = b;
    /* Fault-test hook: WEFT_TEST_DUPLICATE_PUBLISH=1 sends every message twice, as an
     * at-least-once broker may; the engine must not notice. */
    const char *dup = getenv("WEFT_TEST_DUPLICATE_PUBLISH");
    t->copies = dup && strcmp(dup, "1") == 0 ? 2 : 1;
}

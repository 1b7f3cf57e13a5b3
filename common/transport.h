/* How the engine sends its follow-up messages: over RabbitMQ (the consumers,
 * broker_transport.h) or in-process (direct mode, `weft run`: direct.c). The engine publishes
 * everything a step produced, then flushes once; only after a successful flush may the caller ack
 * the message that caused it. */
#ifndef WEFT_TRANSPORT_H
#define WEFT_TRANSPORT_H

#include "status.h"

#include <stddef.h>

typedef struct weft_transport weft_transport;

struct weft_transport {
    /* Sends body (borrowed) to queue. */
    weft_status (*publish)(weft_transport *t, const char *queue, const char *body, size_t len,
                           int priority, weft_err *err);
    /* Sends body to queue (borrowed: a queue that carries attempts, queues.h) after at least
     * delay_ms. */
    weft_status (*publish_delayed)(weft_transport *t, const char *queue, const char *body,
                                   size_t len, int priority, int delay_ms, weft_err *err);
    /* Returns once everything published so far is durable (confirmed). */
    weft_status (*flush)(weft_transport *t, weft_err *err);
    /* Keeps the transport alive (heartbeats) while the caller waits, for up to ms. */
    void (*idle)(weft_transport *t, int ms);
    /* NULL where there is nothing to settle (direct mode). Acknowledges the message being
     * handled now, before the handler is done, and takes no other until it is: for work
     * whose progress the store already guards (an attempt's lease) and that may outlast
     * the broker's patience with an unacknowledged delivery. */
    weft_status (*settle)(weft_transport *t, weft_err *err);
    /* Set by the caller of flush, may be NULL: called about once a second while a flush
     * waits (a lock holder renews its lease there). */
    void (*on_wait)(void *arg);
    void *on_wait_arg;
};

#endif

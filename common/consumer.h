/* The consumer loop every binary runs: connect with capped exponential backoff, consume one
 * or more queues on one channel with manual acks, hand each delivery to a handler, then ack,
 * dead-letter with a reason, or leave it for redelivery, by the handler's status (DESIGN §5.2,
 * §5.4). */
#ifndef WEFT_CONSUMER_H
#define WEFT_CONSUMER_H

#include "broker.h"
#include "status.h"
#include "transport.h"

#include <stdbool.h>

typedef weft_status (*weft_consumer_fn)(void *ctx, weft_transport *t, const weft_delivery *d,
                                        weft_err *err);
/* Handles the n deliveries ds (borrowed, n >= 2, in the order they came) together. WEFT_OK:
 * every one is done and they are acknowledged at once. Anything else: the consumer assumes
 * none is, and hands each to the single handler in turn, which must find what the batch did
 * of it and finish the rest (the handoff's duplicates do). t offers no settle. */
typedef weft_status (*weft_consumer_batch_fn)(void *ctx, weft_transport *t,
                                              const weft_delivery *ds, size_t n, weft_err *err);

typedef struct {
    const char *name;          /* borrowed: for log lines ("entry", "activity-3") */
    const char *const *queues; /* borrowed: what it consumes, one consumer per queue */
    size_t nqueues;            /* >= 1 */
    int prefetch;              /* deliveries in flight, across all of its queues */
    const char *amqp_url;     /* borrowed */
    const char *amqp_cacert;  /* borrowed, may be NULL: see weft_broker_connect */
    size_t max_message_bytes; /* bodies over this go to weft.dead unread (0: no limit) */
    weft_consumer_fn handle;
    /* May be NULL. With batch > 1 (and prefetch >= batch) the deliveries already buffered
     * when one arrives, up to batch in all, go to handle_batch together. */
    weft_consumer_batch_fn handle_batch;
    int batch;
    void *ctx; /* passed to handle and handle_batch */
} weft_consumer;

/* Runs until weft_stop_requested (stop.h): it stops taking messages and returns after the
 * current one. Never returns on infrastructure failures: it logs one line
 * per outage and reconnects. Exits the process with status 2 (weft_runtime_exit_config)
 * when its first connection is refused for what no reconnect fixes (WEFT_EINVAL from
 * weft_broker_connect: a malformed URL, a certificate that does not verify). While the
 * broker blocks the connection (a resource alarm, broker.h) it takes no message and keeps
 * the connection. Returns 0 on a requested stop. */
int weft_consumer_run(const weft_consumer *c);

#endif

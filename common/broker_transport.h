/* The transport of the consumers: follow-ups published over RabbitMQ, flushed by waiting
 * for the broker's publisher confirms, kept alive by servicing heartbeats. */
#ifndef WEFT_BROKER_TRANSPORT_H
#define WEFT_BROKER_TRANSPORT_H

#include "broker.h"
#include "transport.h"

#include <stdbool.h>
#include <stdint.h>

/* A transport over a broker connection. Embed it: base is what the engine gets. */
typedef struct {
    weft_transport base;
    weft_broker *broker; /* borrowed; must outlive the transport */
    uint64_t tag;        /* the delivery being handled, for settle */
    bool settled;        /* settle acknowledged it: the consumer must not settle it again,
                            and resumes consuming (weft_broker_resume) once it is handled */
} weft_broker_transport;

/* Initializes t (caller's memory) over b (borrowed). */
void weft_broker_transport_init(weft_broker_transport *t, weft_broker *b);

/* The delivery the handler is about to get: what settle acknowledges. */
void weft_broker_transport_begin(weft_broker_transport *t, uint64_t tag);

#endif

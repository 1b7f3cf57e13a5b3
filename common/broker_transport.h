/* The transport of the consumers: follow-ups published over RabbitMQ, flushed by waiting
 * for the broker's publisher confirms, kept alive by servicing heartbeats. */
#ifndef WEFT_BROKER_TRANSPORT_H
#define WEFT_BROKER_TRANSPORT_H

#include "broker.h"
#include "transport.h"

/* A transport over a broker connection. Embed it: base is what the engine gets. */
typedef struct {
    weft_transport base;
    weft_broker *broker; /* borrowed; must outlive the transport */
} weft_broker_transport;

/* Initializes t (caller's memory) over b (borrowed). */
void weft_broker_transport_init(weft_broker_transport *t, weft_broker *b);

#endif

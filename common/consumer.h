/* The consumer loop every binary runs: connect with capped exponential backoff, consume
 * with manual acks, hand each delivery to a handler, then ack, dead-letter with a reason,
 * or leave it for redelivery, by the handler's status (DESIGN §5.2, §5.4). */
#ifndef WEFT_CONSUMER_H
#define WEFT_CONSUMER_H

#include "broker.h"
#include "status.h"
#include "transport.h"

#include <signal.h>
#include <stdbool.h>

/* Set by SIGTERM/SIGINT: loops stop taking messages and return after the current one. */
extern volatile sig_atomic_t weft_stop_requested;

/* Installs the SIGTERM/SIGINT handlers that set weft_stop_requested; ignores SIGPIPE. */
void weft_signals_install(void);

/* Sleeps up to ms, returning early when a stop was requested. */
void weft_sleep_ms(int ms);

typedef weft_status (*weft_consumer_fn)(void *ctx, weft_transport *t, const weft_delivery *d,
                                        weft_err *err);
typedef weft_status (*weft_consumer_tick_fn)(void *ctx, weft_transport *t, weft_err *err);

typedef struct {
    const char *name;  /* borrowed: for log lines ("entry", "activity-3") */
    const char *queue; /* borrowed */
    int prefetch;
    const char *amqp_url; /* borrowed */
    weft_consumer_fn handle;
    void *ctx;                  /* passed to handle and tick */
    weft_consumer_tick_fn tick; /* optional: called every tick_interval_ms while connected */
    int tick_interval_ms;
} weft_consumer;

/* Runs until weft_stop_requested. Never returns on infrastructure failures: it logs one line
 * per outage and reconnects. Returns 0 on a requested stop. */
int weft_consumer_run(const weft_consumer *c);

#endif

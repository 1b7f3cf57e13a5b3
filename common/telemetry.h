/* What weft's processes count (DESIGN §14 Metrics): one registry per process (metrics.h),
 * made on first use, with the families below, and one function per event that the engine,
 * the consumer loop, the broker, the store and the lock call where it happens. Counting is
 * always on (a few nanoseconds per event); --metrics only decides whether an endpoint
 * serves it (metrics_endpoint.h). The README lists every name and label.
 *
 *   weft_attempts_total{task,outcome}        counter: attempts run, by how they ended
 *   weft_attempt_duration_seconds{task}      histogram: wall time of an attempt
 *   weft_attempts_in_flight                  gauge: attempts running now
 *   weft_handoff_duration_seconds            histogram: a handoff message, lock to confirms
 *   weft_messages_total{queue,outcome}       counter: deliveries settled (acked,
 *                                            dead_lettered, requeued)
 *   weft_dead_lettered_total{queue}          counter: messages parked in weft.dead, by the
 *                                            queue they came from
 *   weft_reconnects_total{service}           counter: connections re-opened after a loss
 *                                            (amqp, postgres, redis)
 *   weft_consumer_connected{consumer}        gauge: 1 while that consumer holds a broker
 *                                            connection and consumes, else 0
 *
 * Health: the process is healthy while every consumer it runs (the count given to
 * weft_telemetry_expect_consumers) is connected. */
#ifndef WEFT_TELEMETRY_H
#define WEFT_TELEMETRY_H

#include "metrics.h"

#include <stdbool.h>

/* How an attempt ended, the outcome label of weft_attempts_total. */
typedef enum {
    WEFT_ATTEMPT_COMPLETED,   /* "completed" */
    WEFT_ATTEMPT_TRANSIENT,   /* "transient": a TRANSIENT error, a crash or a timeout */
    WEFT_ATTEMPT_PERMANENT,   /* "permanent": a PERMANENT error */
    WEFT_ATTEMPT_CANCELED,    /* "canceled": stopped because its workflow was canceled */
    WEFT_ATTEMPT_HANDED_BACK, /* "handed_back": unfinished at shutdown */
} weft_attempt_outcome;

/* The process's registry (borrowed; lives until exit). */
weft_metrics *weft_telemetry_registry(void);

/* An attempt of a task type (borrowed) starts / ended after seconds. */
void weft_telemetry_attempt_started(void);
void weft_telemetry_attempt_ended(const char *task, weft_attempt_outcome outcome, double seconds);

/* A handoff message was handled in seconds. */
void weft_telemetry_handoff(double seconds);

/* A delivery from queue (borrowed) was settled: outcome "acked", "dead_lettered" or
 * "requeued" (static strings). */
void weft_telemetry_message(const char *queue, const char *outcome);

/* A message from queue (borrowed) was parked in weft.dead (its confirm came). */
void weft_telemetry_dead_lettered(const char *queue);

/* A connection to service ("amqp", "postgres", "redis") was opened again after a loss. */
void weft_telemetry_reconnect(const char *service);

/* Consumer name (borrowed) got or lost its broker connection. */
void weft_telemetry_consumer_connected(const char *name, bool connected);

/* The process runs n consumers; healthy only when n are connected. */
void weft_telemetry_expect_consumers(int n);
bool weft_telemetry_healthy(void);

#endif

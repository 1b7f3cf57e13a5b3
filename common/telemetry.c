#include "telemetry.h"

#include <pthread.h>
#include <stdatomic.h>

/* Attempts run from milliseconds (noop) to an hour (the default task timeout). */
static const double attempt_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                        2.5,   5,    10,    30,   60,  300,  900, 3600};
/* A handoff is one transaction and the confirms of its dispatches: about a millisecond,
 * much more only under a contended lock or a broker alarm. */
static const double handoff_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};
static const char *const outcome_names[] = {"completed", "transient", "permanent", "canceled",
                                            "handed_back"};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static weft_metrics *registry;
static weft_metric *attempts, *attempt_duration, *in_flight, *handoff_duration, *messages,
    *dead_lettered, *reconnects, *connected;
static atomic_int expected_consumers, connected_consumers;

#define N(a) (sizeof a / sizeof a[0])

static void init(void)
{
    static const char *const task_outcome[] = {"task", "outcome"}, *const task[] = {"task"},
                             *const queue_outcome[] = {"queue", "outcome"},
                             *const queue[] = {"queue"}, *const service[] = {"service"},
                             *const consumer[] = {"consumer"};
    weft_metrics *r = weft_metrics_create();
    attempts = weft_metrics_register(r, WEFT_METRIC_COUNTER, "weft_attempts_total",
                                     "Activity attempts run, by task type and outcome.", 2,
                                     task_outcome, 0, NULL);
    attempt_duration =
        weft_metrics_register(r, WEFT_METRIC_HISTOGRAM, "weft_attempt_duration_seconds",
                              "Wall time of an activity attempt, by task type.", 1, task,
                              N(attempt_bounds), attempt_bounds);
    in_flight =
        weft_metrics_register(r, WEFT_METRIC_GAUGE, "weft_attempts_in_flight",
                              "Activity attempts running in this process now.", 0, NULL, 0, NULL);
    handoff_duration = weft_metrics_register(
        r, WEFT_METRIC_HISTOGRAM, "weft_handoff_duration_seconds",
        "Time to handle one handoff message: lock, transaction, dispatch confirms.", 0, NULL,
        N(handoff_bounds), handoff_bounds);
    messages = weft_metrics_register(r, WEFT_METRIC_COUNTER, "weft_messages_total",
                                     "Deliveries settled, by queue and outcome (acked, "
                                     "dead_lettered, requeued).",
                                     2, queue_outcome, 0, NULL);
    dead_lettered = weft_metrics_register(
        r, WEFT_METRIC_COUNTER, "weft_dead_lettered_total",
        "Messages parked in weft.dead with a reason, by the queue they came from.", 1, queue, 0,
        NULL);
    reconnects = weft_metrics_register(
        r, WEFT_METRIC_COUNTER, "weft_reconnects_total",
        "Connections re-opened after a loss, by service (amqp, postgres, redis).", 1, service, 0,
        NULL);
    connected = weft_metrics_register(
        r, WEFT_METRIC_GAUGE, "weft_consumer_connected",
        "1 while the consumer holds a broker connection and consumes, else 0.", 1, consumer, 0,
        NULL);
    /* every service shows from the first scrape, so a rate() over it starts at 0 */
    static const char *const services[] = {"amqp", "postgres", "redis"};
    for (size_t i = 0; i < N(services); i++)
        weft_metric_add(reconnects, &services[i], 0);
    registry = r;
}

weft_metrics *weft_telemetry_registry(void)
{
    pthread_once(&once, init);
    return registry;
}

void weft_telemetry_attempt_started(void)
{
    weft_telemetry_registry();
    weft_metric_add(in_flight, NULL, 1);
}

void weft_telemetry_attempt_ended(const char *task, weft_attempt_outcome outcome, double seconds)
{
    weft_telemetry_registry();
    const char *v[] = {task, outcome_names[outcome]};
    weft_metric_add(in_flight, NULL, -1);
    weft_metric_add(attempts, v, 1);
    weft_metric_observe(attempt_duration, v, seconds);
}

void weft_telemetry_handoff(double seconds)
{
    weft_telemetry_registry();
    weft_metric_observe(handoff_duration, NULL, seconds);
}

void weft_telemetry_message(const char *queue, const char *outcome)
{
    weft_telemetry_registry();
    const char *v[] = {queue, outcome};
    weft_metric_add(messages, v, 1);
}

void weft_telemetry_dead_lettered(const char *queue)
{
    weft_telemetry_registry();
    weft_metric_add(dead_lettered, &queue, 1);
}

void weft_telemetry_reconnect(const char *service)
{
    weft_telemetry_registry();
    weft_metric_add(reconnects, &service, 1);
}

void weft_telemetry_consumer_connected(const char *name, bool up)
{
    weft_telemetry_registry();
    /* the gauge is the per-consumer truth; the count only changes on a real transition */
    bool was = weft_metric_value(connected, &name) > 0;
    weft_metric_set(connected, &name, up ? 1 : 0);
    if (was != up)
        atomic_fetch_add(&connected_consumers, up ? 1 : -1);
}

void weft_telemetry_expect_consumers(int n)
{
    atomic_store(&expected_consumers, n);
}

bool weft_telemetry_healthy(void)
{
    int want = atomic_load(&expected_consumers);
    return want > 0 && atomic_load(&connected_consumers) >= want;
}

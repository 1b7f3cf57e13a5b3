/* What the fault suite's builds of the consumers add to them. fault-weft-entry,
 * fault-weft-activity and fault-weft-handoff are the production mains relinked with this
 * file, which wraps two functions at link time (-Wl,--wrap, see meson.build here): the
 * production binaries hold none of it.
 *
 *   test.record_sleep   the built-in `sleep`, after it appended "<activity_uid> <attempt>"
 *                       to the file `record` (a file name in WEFT_DATA_DIR): run.sh counts
 *                       executions with it, those a kill cut short included, so the line is
 *                       written first; O_APPEND keeps concurrent lines whole.
 *                       Its own params may make it fail on purpose, after the sleep:
 *                       `"fail_transient": K` fails TRANSIENT while the attempt is <= K
 *                       (then it succeeds), `"fail_permanent": true` fails PERMANENT.
 *                       Both are read from the activity's own params, not the merged
 *                       input: a completed upstream's output (its input, params
 *                       included) would otherwise carry them to every dependent.
 *   WEFT_FAULTS_DUPLICATE_PUBLISH=1
 *                       every publish of the broker transport happens twice, as an
 *                       at-least-once broker may deliver a message; the engine must not
 *                       notice (the `duplicates` scenario).
 *   WEFT_FAULTS_HANDOFF_TRACE=PATH
 *                       each handoff appends "<workflow_uid> <shard> <start_ns> <end_ns>
 *                       <pid>" (CLOCK_MONOTONIC, one clock for every process of the machine) to
 *                       PATH once weft_engine_handoff returned WEFT_OK, so a test can check
 *                       that no two handoffs of one workflow overlapped, across processes
 *                       and shards (test_handoff_shards, the handoff_shard_kill scenario).
 *                       A batch (weft_engine_handoff_batch) writes a line for each of its
 *                       handoffs, all with the batch's start and end. */
#include "alloc.h"
#include "broker_transport.h"
#include "engine.h"
#include "message.h"
#include "queues.h"
#include "tasks.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void __real_weft_tasks_register_builtin(weft_task_registry *r);
void __wrap_weft_tasks_register_builtin(weft_task_registry *r);
void __real_weft_broker_transport_init(weft_broker_transport *t, weft_broker *b);
void __wrap_weft_broker_transport_init(weft_broker_transport *t, weft_broker *b);
weft_status __real_weft_engine_handoff(weft_engine *e, const char *body, size_t len, weft_err *err);
weft_status __wrap_weft_engine_handoff(weft_engine *e, const char *body, size_t len, weft_err *err);
weft_status __real_weft_engine_handoff_batch(weft_engine *e, const char *const *bodies,
                                             const size_t *lens, size_t n, weft_err *err);
weft_status __wrap_weft_engine_handoff_batch(weft_engine *e, const char *const *bodies,
                                             const size_t *lens, size_t n, weft_err *err);

/* ---- test.record_sleep ---- */

static weft_task_fn builtin_sleep; /* set before any worker thread or task process starts */

static weft_task_result fail(char *errbuf, size_t errlen, weft_task_result r, const char *why)
{
    snprintf(errbuf, errlen, "test.record_sleep: %s", why);
    return r;
}

static weft_task_result record_sleep(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                     size_t errlen)
{
    const char *record = json_string_value(json_object_get(ctx->input, "record"));
    if (!record || !*record || strchr(record, '/') || !ctx->data_dir)
        return fail(errbuf, errlen, WEFT_TASK_PERMANENT,
                    "'record' must name a file in WEFT_DATA_DIR");
    char *path = weft_xasprintf("%s/%s", ctx->data_dir, record);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    free(path);
    if (fd < 0)
        return fail(errbuf, errlen, WEFT_TASK_TRANSIENT, strerror(errno));
    char line[96];
    int n = snprintf(line, sizeof line, "%s %d\n", ctx->activity_uid, ctx->attempt);
    ssize_t w = write(fd, line, (size_t)n);
    close(fd);
    if (w != n)
        return fail(errbuf, errlen, WEFT_TASK_TRANSIENT, "cannot write the record");
    json_t *transient = json_object_get(ctx->params, "fail_transient");
    if (transient && (!json_is_integer(transient) || json_integer_value(transient) < 0))
        return fail(errbuf, errlen, WEFT_TASK_PERMANENT,
                    "'fail_transient' must be an integer >= 0");
    /* a planned failure comes after the sleep, as a real task fails after its work: a fault
     * can still meet the attempt while it runs */
    weft_task_result r = builtin_sleep(ctx, output, errbuf, errlen);
    if (r != WEFT_TASK_OK)
        return r;
    /* the planned failures name themselves, so run.sh tells them from those a fault caused */
    if (transient && ctx->attempt <= json_integer_value(transient)) {
        json_decref(*output);
        *output = NULL;
        snprintf(errbuf, errlen, "test.record_sleep: planned transient failure (attempt %d of %d)",
                 ctx->attempt, (int)json_integer_value(transient));
        return WEFT_TASK_TRANSIENT;
    }
    if (json_is_true(json_object_get(ctx->params, "fail_permanent"))) {
        json_decref(*output);
        *output = NULL;
        return fail(errbuf, errlen, WEFT_TASK_PERMANENT, "planned permanent failure");
    }
    return WEFT_TASK_OK;
}

void __wrap_weft_tasks_register_builtin(weft_task_registry *r)
{
    __real_weft_tasks_register_builtin(r);
    builtin_sleep = weft_task_lookup(r, "sleep");
    if (!builtin_sleep || !weft_task_register(r, "test.record_sleep", record_sleep))
        abort();
}

/* ---- every publish twice ---- */

typedef weft_status (*publish_fn)(weft_transport *t, const char *queue, const char *body,
                                  size_t len, int priority, weft_err *err);
typedef weft_status (*publish_delayed_fn)(weft_transport *t, const char *queue, const char *body,
                                          size_t len, int priority, int delay_ms, weft_err *err);

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static bool duplicate;
static publish_fn broker_publish;
static publish_delayed_fn broker_publish_delayed;

static void setup(void)
{
    const char *v = getenv("WEFT_FAULTS_DUPLICATE_PUBLISH");
    duplicate = v && strcmp(v, "1") == 0;
    weft_broker_transport probe;
    __real_weft_broker_transport_init(&probe, NULL);
    broker_publish = probe.base.publish;
    broker_publish_delayed = probe.base.publish_delayed;
}

static weft_status publish_twice(weft_transport *t, const char *queue, const char *body, size_t len,
                                 int priority, weft_err *err)
{
    weft_status st = broker_publish(t, queue, body, len, priority, err);
    return st ? st : broker_publish(t, queue, body, len, priority, err);
}

static weft_status publish_delayed_twice(weft_transport *t, const char *queue, const char *body,
                                         size_t len, int priority, int delay_ms, weft_err *err)
{
    weft_status st = broker_publish_delayed(t, queue, body, len, priority, delay_ms, err);
    return st ? st : broker_publish_delayed(t, queue, body, len, priority, delay_ms, err);
}

void __wrap_weft_broker_transport_init(weft_broker_transport *t, weft_broker *b)
{
    pthread_once(&setup_once, setup);
    __real_weft_broker_transport_init(t, b);
    if (duplicate) {
        t->base.publish = publish_twice;
        t->base.publish_delayed = publish_delayed_twice;
    }
}

/* ---- the handoff trace ---- */

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Appends the trace line of the handoff in body, which ran from start to end (ns). */
static void trace(const char *path, weft_engine *e, const char *body, size_t len, int64_t start,
                  int64_t end)
{
    weft_attempt_msg m;
    weft_err derr;
    if (weft_msg_decode_attempt(body, len, e->limits.max_message_bytes, &m, &derr))
        return;
    char line[160];
    int n = snprintf(line, sizeof line, "%s %d %lld %lld %d\n", m.workflow_uid,
                     weft_queue_handoff_shard(m.workflow_uid, e->handoff_shards), (long long)start,
                     (long long)end, (int)getpid());
    /* one write to an O_APPEND file: lines of concurrent handoffs stay whole */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (write(fd, line, (size_t)n) != n)
            abort(); /* a trace with holes would pass a check it should fail */
        close(fd);
    }
}

weft_status __wrap_weft_engine_handoff(weft_engine *e, const char *body, size_t len, weft_err *err)
{
    const char *path = getenv("WEFT_FAULTS_HANDOFF_TRACE");
    if (!path || !*path)
        return __real_weft_engine_handoff(e, body, len, err);
    int64_t start = monotonic_ns();
    weft_status st = __real_weft_engine_handoff(e, body, len, err);
    if (!st)
        trace(path, e, body, len, start, monotonic_ns());
    return st;
}

/* A batch: each of its handoffs with the batch's start and end, which the trace's reader
 * knows for one batch's (handoff_trace.c). */
weft_status __wrap_weft_engine_handoff_batch(weft_engine *e, const char *const *bodies,
                                             const size_t *lens, size_t n, weft_err *err)
{
    const char *path = getenv("WEFT_FAULTS_HANDOFF_TRACE");
    if (!path || !*path)
        return __real_weft_engine_handoff_batch(e, bodies, lens, n, err);
    int64_t start = monotonic_ns();
    weft_status st = __real_weft_engine_handoff_batch(e, bodies, lens, n, err);
    int64_t end = monotonic_ns();
    for (size_t i = 0; !st && i < n; i++)
        trace(path, e, bodies[i], lens[i], start, end);
    return st;
}

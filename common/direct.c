#include "direct.h"

#include "alloc.h"
#include "clock.h"
#include "engine.h"
#include "message.h"
#include "queues.h"
#include "runner.h"
#include "transport.h"

#include <stdlib.h>
#include <string.h>

typedef struct local_msg {
    char *body;
    size_t len;
    int priority;
    int64_t due_ms; /* for delayed messages: weft_clock_ms() */
    enum { Q_ENTRY, Q_DEFAULT, Q_HANDOFF, Q_DELAYED } queue;
    struct local_msg *next;
} local_msg;

/* Published messages wait in `unflushed` until flush, as a broker holds them until it
 * confirms; then they join their queue. */
typedef struct {
    weft_transport base;
    local_msg *unflushed;
    local_msg *queues[4]; /* FIFO lists (kept in arrival order) */
} local_transport;

static void push(local_msg **list, local_msg *m)
{
    m->next = NULL;
    while (*list)
        list = &(*list)->next;
    *list = m;
}

static local_msg *make(const char *body, size_t len, int priority)
{
    local_msg *m = weft_xcalloc(1, sizeof *m);
    m->body = weft_xstrndup(body, len);
    m->len = len;
    m->priority = priority;
    return m;
}

static weft_status lt_publish(weft_transport *t, const char *queue, const char *body, size_t len,
                              int priority, weft_err *err)
{
    local_msg *m = make(body, len, priority);
    if (strcmp(queue, WEFT_QUEUE_ENTRY) == 0)
        m->queue = Q_ENTRY;
    else if (weft_queue_is_handoff(queue))
        m->queue = Q_HANDOFF; /* one process serves every handoff shard, in arrival order */
    else if (weft_queue_is_tasks(queue))
        m->queue = Q_DEFAULT; /* one process serves every routing queue */
    else {
        free(m->body);
        free(m);
        return weft_err_set(err, WEFT_EINVAL, "direct mode has no queue '%s'", queue);
    }
    push(&((local_transport *)t)->unflushed, m);
    return WEFT_OK;
}

static weft_status lt_publish_delayed(weft_transport *t, const char *queue, const char *body,
                                      size_t len, int priority, int delay_ms, weft_err *err)
{
    (void)queue; /* due retries join the one activity queue (release_due) */
    local_msg *m = make(body, len, priority);
    m->queue = Q_DELAYED;
    m->due_ms = weft_clock_ms() + delay_ms;
    push(&((local_transport *)t)->unflushed, m);
    return WEFT_OK;
}

static weft_status lt_flush(weft_transport *t, weft_err *err)
{
    local_transport *lt = (local_transport *)t;
    while (lt->unflushed) {
        local_msg *m = lt->unflushed;
        lt->unflushed = m->next;
        push(&lt->queues[m->queue], m);
    }
    return WEFT_OK;
}

static void lt_idle(weft_transport *t, int ms)
{
    (void)t;
    (void)ms; /* nothing to keep alive in-process */
}

/* Takes the highest-priority message of a list, first come first served within a priority,
 * as the broker's priority queue does. */
static local_msg *take_highest(local_msg **list)
{
    local_msg **best = NULL;
    for (local_msg **p = list; *p; p = &(*p)->next)
        if (!best || (*p)->priority > (*best)->priority)
            best = p;
    if (!best)
        return NULL;
    local_msg *m = *best;
    *best = m->next;
    return m;
}

static local_msg *take_first(local_msg **list)
{
    local_msg *m = *list;
    if (m)
        *list = m->next;
    return m;
}

/* Moves due delayed messages to `default`; returns ms until the next one is due (-1: none). */
static int64_t release_due(local_transport *lt)
{
    int64_t now = weft_clock_ms(), next = -1;
    for (local_msg **p = &lt->queues[Q_DELAYED]; *p;) {
        local_msg *m = *p;
        if (m->due_ms <= now) {
            *p = m->next;
            push(&lt->queues[Q_DEFAULT], m);
            continue;
        }
        if (next < 0 || m->due_ms - now < next)
            next = m->due_ms - now;
        p = &m->next;
    }
    return next;
}

static void free_list(local_msg *m)
{
    while (m) {
        local_msg *n = m->next;
        free(m->body);
        free(m);
        m = n;
    }
}

weft_status weft_direct_run(weft_store *store, const weft_task_registry *tasks,
                            const weft_runner_config *runner_cfg, const weft_limits *limits,
                            const char *data_dir, const json_t *doc, const json_t *inputs,
                            char uid[WEFT_UUID_LEN + 1], weft_err *err)
{
    /* no settle: nothing here would take an unacknowledged message away */
    local_transport lt = {{.publish = lt_publish,
                           .publish_delayed = lt_publish_delayed,
                           .flush = lt_flush,
                           .idle = lt_idle},
                          NULL,
                          {NULL}};
    weft_runner *runner = weft_runner_create(tasks, runner_cfg);
    weft_engine e = {.store = store,
                     .transport = &lt.base,
                     .tasks = tasks,
                     .limits = *limits,
                     .worker = "direct",
                     .data_dir = data_dir,
                     .runner = runner,
                     .grace_s = 0};
    weft_uuid_new(uid);
    size_t len;
    char *body = weft_msg_encode_entry(doc, inputs, uid, &len);
    weft_status st = weft_engine_entry(&e, body, len, NULL, err);
    free(body);
    while (!st) {
        /* handoffs first: they are what turns finished work into new work */
        local_msg *m = take_first(&lt.queues[Q_HANDOFF]);
        if (m) {
            st = weft_engine_handoff(&e, m->body, m->len, err);
        } else if ((m = take_highest(&lt.queues[Q_DEFAULT]))) {
            st = weft_engine_activity(&e, m->body, m->len, false, err);
        } else {
            int64_t wait = release_due(&lt);
            if (wait < 0 && !lt.queues[Q_DEFAULT])
                break;
            if (wait > 0 && !lt.queues[Q_DEFAULT])
                weft_clock_sleep_ms(wait);
            continue;
        }
        free(m->body);
        free(m);
    }
    weft_runner_destroy(runner);
    free_list(lt.unflushed);
    for (int i = 0; i < 4; i++)
        free_list(lt.queues[i]);
    return st;
}

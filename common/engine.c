#include "engine.h"

#include "global_limit.h"
#include "store_limit.h"
#include "compose.h"
#include "engine_internal.h"
#include "type_gate.h"

#include "alloc.h"
#include "backoff.h"
#include "catalog.h"
#include "clock.h"
#include "dag.h"
#include "definition.h"
#include "log.h"
#include "message.h"
#include "queues.h"
#include "runner.h"
#include "stop.h"
#include "telemetry.h"
#include "uuid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A handoff holds the workflow lock for one transaction and the confirms of its dispatches,
 * usually milliseconds, and renews the lease while a confirm wait drags on (a resource
 * alarm); the lease only matters when the holder dies: it bounds how long the next holder
 * of that workflow waits. Whoever cannot renew it (stopped, cut off from Redis) costs
 * efficiency only: Postgres's row lock and compare-and-set keep each transition single
 * (lock.h). */
#define LOCK_LEASE_MS 5000
/* Resume (weft-entry) waits for a workflow's lock; the handoff, a singleton whose every
 * second of waiting stalls all workflows, waits briefly and then sends the message to the
 * back of its queue, so one contended workflow never blocks the others. */
#define RESUME_LOCK_WAIT_MS 10000
#define HANDOFF_LOCK_WAIT_MS 500
/* A finished attempt's result is worth waiting for: while Postgres is down the worker keeps
 * the message and retries the write this long before giving the message back. */
#define STORE_RETRY_S 300
#define STORE_BACKOFF_MAX_MS 5000

/* Waits before retrying a store write, keeping the transport alive; false when the caller
 * should give up (too long, or the process is stopping with its grace spent). */
static bool store_backoff(weft_engine *e, double started, weft_backoff *backoff, weft_status st,
                          const weft_err *err)
{
    if (st != WEFT_EDB || weft_clock_s() - started > STORE_RETRY_S || weft_stop_requested)
        return false;
    if (weft_backoff_first(backoff))
        WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL, "%s; keeping the result and retrying", err->msg);
    int delay_ms = weft_backoff_next(backoff);
    for (int waited = 0; waited < delay_ms; waited += 100) {
        e->transport->idle(e->transport, 0);
        weft_clock_sleep_ms(100);
    }
    return true;
}

static char *encode_attempt(const char *wf, const char *act, int attempt, size_t *len)
{
    weft_attempt_msg m;
    snprintf(m.workflow_uid, sizeof m.workflow_uid, "%s", wf);
    snprintf(m.activity_uid, sizeof m.activity_uid, "%s", act);
    m.attempt = attempt;
    return weft_msg_encode_attempt(&m, len);
}

static weft_status publish_attempt(weft_engine *e, const char *queue, const char *wf,
                                   const char *act, int attempt, int priority, weft_err *err)
{
    size_t len;
    char *body = encode_attempt(wf, act, attempt, &len);
    weft_status st = e->transport->publish(e->transport, queue, body, len, priority, err);
    free(body);
    return st;
}

/* Sends the handoff of an attempt to its workflow's handoff shard (queues.h): the one way a
 * handoff is published, so all of a workflow's handoffs meet on one queue. */
static weft_status publish_handoff(weft_engine *e, const char *wf, const char *act, int attempt,
                                   weft_err *err)
{
    char queue[WEFT_QUEUE_HANDOFF_MAX];
    return publish_attempt(e, weft_queue_handoff(wf, e->handoff_shards, queue), wf, act, attempt, 0,
                           err);
}

/* Sends an attempt to the AMQP queue of its activity's routing queue (queues.h). */
static weft_status dispatch_attempt(weft_engine *e, const char *queue, const char *wf,
                                    const char *act, int attempt, int priority, weft_err *err)
{
    char amqp[WEFT_QUEUE_AMQP_MAX];
    return publish_attempt(e, weft_queue_amqp(queue, amqp), wf, act, attempt, priority, err);
}

/* Sends a retry to its activity's queue at its priority, through the delay queues when it is
 * due only after delay_ms, then flushes. */
static weft_status publish_retry(weft_engine *e, const char *queue, const char *wf, const char *act,
                                 int attempt, int priority, int delay_ms, weft_err *err)
{
    weft_status st;
    if (delay_ms > 0) {
        size_t len;
        char *body = encode_attempt(wf, act, attempt, &len);
        char amqp[WEFT_QUEUE_AMQP_MAX];
        st = e->transport->publish_delayed(e->transport, weft_queue_amqp(queue, amqp), body, len,
                                           priority, delay_ms, err);
        free(body);
    } else {
        st = dispatch_attempt(e, queue, wf, act, attempt, priority, err);
    }
    return st ? st : e->transport->flush(e->transport, err);
}

/* Publishes every dispatch to its queue (a parent's handoff to the handoff queue), then waits
 * for all confirms at once. */
static weft_status publish_dispatches(weft_engine *e, const char *wf, const weft_dispatch_list *l,
                                      weft_err *err)
{
    for (size_t i = 0; i < l->n; i++) {
        const weft_dispatch *d = &l->items[i];
        weft_status st =
            d->handoff ? publish_handoff(e, d->workflow_uid, d->uid, d->attempt, err)
                       : dispatch_attempt(e, d->queue, wf, d->uid, d->attempt, d->priority, err);
        if (st)
            return st;
    }
    return WEFT_OK;
}

static weft_status dispatch_all(weft_engine *e, const char *wf, const weft_dispatch_list *l,
                                weft_err *err)
{
    weft_status st = publish_dispatches(e, wf, l, err);
    return st ? st : e->transport->flush(e->transport, err);
}

weft_status weft_engine_dispatch_all(weft_engine *e, const char *wf, const weft_dispatch_list *l,
                                     weft_err *err)
{
    return dispatch_all(e, wf, l, err);
}

weft_status weft_engine_publish_handoff(weft_engine *e, const weft_attempt_msg *m, weft_err *err)
{
    weft_status st = publish_handoff(e, m->workflow_uid, m->activity_uid, m->attempt, err);
    return st ? st : e->transport->flush(e->transport, err);
}

#define LOCK_KEY_MAX 80

/* The Redis key of workflow wf's lock. */
static void lock_key(const char *wf, char key[LOCK_KEY_MAX])
{
    snprintf(key, LOCK_KEY_MAX, "weft:lock:workflow:%s", wf);
}

/* A workflow lock held: renewed while a flush waits (transport.h on_wait). */
typedef struct {
    weft_engine *e;
    char key[LOCK_KEY_MAX];
    char token[WEFT_LOCK_TOKEN_LEN + 1];
} held_lock;

static void renew_lock(void *arg)
{
    held_lock *h = arg;
    weft_err err;
    if (weft_lock_renew(h->e->lock, h->key, h->token, LOCK_LEASE_MS, &err))
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "%s", err.msg);
}

static weft_status with_lock(weft_engine *e, const char *wf, int wait_ms, held_lock *h,
                             weft_err *err)
{
    h->e = e;
    lock_key(wf, h->key);
    h->token[0] = '\0';
    if (!e->lock)
        return WEFT_OK;
    weft_status st = weft_lock_acquire(e->lock, h->key, LOCK_LEASE_MS, wait_ms, h->token, err);
    if (!st) {
        e->transport->on_wait = renew_lock;
        e->transport->on_wait_arg = h;
    }
    return st;
}

static void unlock(held_lock *h, const char *wf)
{
    weft_engine *e = h->e;
    if (!e->lock)
        return;
    e->transport->on_wait = NULL;
    e->transport->on_wait_arg = NULL;
    /* deferred: the release is sent now, its reply read with the next lock command, so the
     * serial handoff pays one Redis round trip per message, not two (lock.h) */
    weft_err err;
    if (weft_lock_release_deferred(e->lock, h->key, h->token, &err))
        WEFT_LOG(WEFT_LOG_WARN, wf, NULL, "workflow lock not released: %s", err.msg);
}

static weft_status resume(weft_engine *e, const char *uid, weft_err *err)
{
    held_lock lock;
    weft_status st = with_lock(e, uid, RESUME_LOCK_WAIT_MS, &lock, err);
    if (st)
        return st;
    weft_dispatch_list l = {0};
    weft_workflow_status status = WEFT_WORKFLOW_PENDING;
    st = weft_store_resume(e->store, uid, &l, &status, err);
    if (!st)
        st = dispatch_all(e, uid, &l, err);
    unlock(&lock, uid);
    if (!st) {
        const char *was = weft_workflow_status_name(status);
        if (status == WEFT_WORKFLOW_COMPLETED || status == WEFT_WORKFLOW_CANCELED)
            WEFT_LOG(WEFT_LOG_INFO, uid, NULL, "resume of a %s workflow: nothing to do", was);
        else
            WEFT_LOG(WEFT_LOG_INFO, uid, NULL, "resumed (was %s), dispatched %zu", was, l.n);
    }
    weft_dispatch_list_finish(&l);
    return st;
}

/* Cancels workflow uid (DESIGN §12) under its lock, as resume does. The attempts still
 * running hear of it from the store (weft_store_cancel_noticed) and stop. */
static weft_status cancel(weft_engine *e, const char *uid, const char *reason, weft_err *err)
{
    held_lock lock;
    weft_status st = with_lock(e, uid, RESUME_LOCK_WAIT_MS, &lock, err);
    if (st)
        return st;
    weft_workflow_status was = WEFT_WORKFLOW_PENDING;
    bool canceled = false;
    st = weft_store_cancel(e->store, uid, reason, &was, &canceled, err);
    /* also when this one was canceled before: a cascade cut short by a crash goes on here */
    char *why = weft_xasprintf("canceled: %s", reason);
    if (!st && (canceled || was == WEFT_WORKFLOW_CANCELED))
        st = weft_compose_cancel_children(e, uid, why, err);
    free(why);
    if (!st && canceled)
        st = weft_compose_settle_parent(e, uid, err);
    unlock(&lock, uid);
    if (!st && canceled)
        WEFT_LOG(WEFT_LOG_INFO, uid, NULL, "workflow canceled (was %s): %s",
                 weft_workflow_status_name(was), reason);
    else if (!st)
        WEFT_LOG(WEFT_LOG_INFO, uid, NULL, "cancel of a %s workflow: nothing to do",
                 weft_workflow_status_name(was));
    return st;
}

/* The uid a create message without workflow_uid gets: derived from its AMQP message_id, so
 * every redelivery of that message (and a publisher's retry under the same id) names the
 * same workflow; without either, a new one each time. */
static void entry_uid(const weft_entry_msg *m, const char *message_id, char uid[WEFT_UUID_LEN + 1])
{
    if (m->has_uid) {
        snprintf(uid, WEFT_UUID_LEN + 1, "%s", m->workflow_uid);
    } else if (message_id && *message_id) {
        char *name = weft_xasprintf("weft.entry.message_id:%s", message_id);
        weft_uuid_from_name(name, strlen(name), uid);
        free(name);
    } else {
        weft_uuid_new(uid);
    }
}

weft_status weft_engine_entry(weft_engine *e, const char *body, size_t len, const char *message_id,
                              weft_err *err)
{
    weft_entry_msg m;
    weft_status st = weft_msg_decode_entry(body, len, e->limits.max_message_bytes, &m, err);
    if (st)
        return st;
    char uid[WEFT_UUID_LEN + 1];
    entry_uid(&m, message_id, uid);

    if (m.cancel) {
        st = cancel(e, uid, m.cancel_reason, err);
        weft_entry_msg_finish(&m);
        return st;
    }
    if (m.definition_name) {
        /* a create by name: the stored version becomes this message's config */
        int version = 0;
        st = weft_store_definition(e->store, m.definition_name, m.definition_version, &m.config,
                                   &version, err);
        if (st) {
            weft_entry_msg_finish(&m);
            return st;
        }
        WEFT_LOG(WEFT_LOG_DEBUG, uid, NULL, "creating from definition '%s' version %d",
                 m.definition_name, version);
    }
    if (!m.config) {
        st = resume(e, uid, err);
        weft_entry_msg_finish(&m);
        return st;
    }
    weft_definition *def = NULL;
    st = e->catalog ? weft_catalog_parse(e->catalog, e->store, m.config, &e->limits, &def, err)
                    : weft_definition_parse(m.config, &e->limits, e->tasks, &def, err);
    if (st) {
        /* the catalog's refresh may fail on Postgres: that is no fault of the definition */
        if (weft_status_is_poison(st))
            weft_err_prefix(err, "invalid definition: ");
        weft_entry_msg_finish(&m);
        return st;
    }
    weft_dispatch_list l = {0};
    bool existed = false;
    st = weft_store_create_workflow(e->store, uid, def, m.config, m.inputs, &l, &existed, err);
    if (!st && existed) {
        /* An idempotent re-submit: no second workflow; it acts as resume, which also
         * re-sends what a crashed first attempt may not have published. */
        WEFT_LOG(WEFT_LOG_INFO, uid, NULL, "workflow exists: re-submit acts as resume");
        st = resume(e, uid, err);
    } else if (!st) {
        st = dispatch_all(e, uid, &l, err);
        if (!st)
            WEFT_LOG(WEFT_LOG_INFO, uid, NULL,
                     "created workflow '%s' (%zu activities), dispatched %zu", def->name, def->n,
                     l.n);
    }
    weft_dispatch_list_finish(&l);
    weft_definition_destroy(def);
    weft_entry_msg_finish(&m);
    return st;
}

int weft_engine_retry_delay(const weft_retry_policy *p, int retries, double jitter01)
{
    double d = p->initial_delay_ms * pow(p->backoff, retries);
    if (d > p->max_delay_ms)
        d = p->max_delay_ms;
    d *= 1.0 + 0.2 * jitter01;
    if (d > WEFT_MAX_DELAY_LIMIT_MS)
        d = WEFT_MAX_DELAY_LIMIT_MS;
    return (int)ceil(d);
}

static double jitter(void)
{
    unsigned r;
    weft_random_bytes(&r, sizeof r);
    return (double)r / 4294967296.0;
}

/* After a failed attempt: retry through a delay queue while retries remain, the error is
 * not permanent and the workflow runs, else fail for good and hand off. only_expired: only
 * if the attempt's lease expired (a lost attempt; its worker may have renewed it since). */
static weft_status record_failure(weft_engine *e, const weft_attempt_msg *m, const char *queue,
                                  int priority, const weft_retry_policy *policy, int retries,
                                  bool permanent, bool only_expired, const char *error,
                                  weft_err *err)
{
    bool retry = !permanent && retries < policy->max_retries;
    int delay = retry ? weft_engine_retry_delay(policy, retries, jitter()) : 0;
    int next = m->attempt;
    bool retrying = false;
    weft_backoff backoff = WEFT_BACKOFF_INIT(STORE_BACKOFF_MAX_MS);
    double started = weft_clock_s();
    weft_status st;
    do
        st = weft_store_fail(e->store, m->activity_uid, m->attempt, error, retry, delay,
                             only_expired, &next, &retrying, err);
    while (st && store_backoff(e, started, &backoff, st, err));
    if (st == WEFT_ESTALE)
        return WEFT_OK;
    if (st)
        return st;
    if (retrying) {
        WEFT_LOG(WEFT_LOG_INFO, m->workflow_uid, m->activity_uid,
                 "attempt %d failed (%s); retry %d of %d in %d ms", m->attempt, error, retries + 1,
                 policy->max_retries, delay);
        return publish_retry(e, queue, m->workflow_uid, m->activity_uid, next, priority, delay,
                             err);
    }
    WEFT_LOG(WEFT_LOG_WARN, m->workflow_uid, m->activity_uid, "attempt %d failed for good%s: %s",
             m->attempt, retry ? " (no retry: the workflow no longer runs)" : "", error);
    st = publish_handoff(e, m->workflow_uid, m->activity_uid, m->attempt, err);
    return st ? st : e->transport->flush(e->transport, err);
}

weft_status weft_engine_fail_attempt(weft_engine *e, const weft_attempt_msg *m,
                                     const weft_claim *c, bool permanent, const char *error,
                                     weft_err *err)
{
    return record_failure(e, m, c->queue, c->priority, &c->retry, c->retries, permanent, false,
                          error, err);
}

/* The claim failed: decide what the message means from where the activity stands. */
static weft_status not_claimed(weft_engine *e, const weft_attempt_msg *m,
                               const weft_activity_state *s, bool redelivered, weft_err *err)
{
    if (strcmp(s->workflow_uid, m->workflow_uid) != 0)
        return weft_err_set(err, WEFT_EINVAL,
                            "activity %s is not in workflow %s (it is in workflow %s)",
                            m->activity_uid, m->workflow_uid, s->workflow_uid);
    bool same = s->attempt == m->attempt;
    if (same && !s->handed_off &&
        (s->status == WEFT_ACTIVITY_COMPLETED || s->status == WEFT_ACTIVITY_FAILED)) {
        /* done but maybe never handed off: the first run died between commit and publish */
        weft_status st = publish_handoff(e, m->workflow_uid, m->activity_uid, m->attempt, err);
        return st ? st : e->transport->flush(e->transport, err);
    }
    if (s->status == WEFT_ACTIVITY_RETRYING && s->workflow_running &&
        (same || s->attempt == m->attempt + 1)) {
        /* A duplicate of the failed attempt (the retry was recorded, but its delayed message
         * may not have been published) or the retry's own message before it is due: send the
         * retry again, due when the policy said and never sooner. */
        WEFT_LOG(WEFT_LOG_DEBUG, m->workflow_uid, m->activity_uid,
                 "message for attempt %d while attempt %d waits: retry sent again, due in %d ms",
                 m->attempt, s->attempt, s->due_in_ms);
        return publish_retry(e, s->queue, m->workflow_uid, m->activity_uid, s->attempt, s->priority,
                             s->due_in_ms, err);
    }
    if (same && s->awaiting) {
        /* a map waiting for its instances or an activity for its child: its message was
         * redelivered after the store said so; the sweeper re-sends what it dispatched */
        WEFT_LOG(WEFT_LOG_DEBUG, m->workflow_uid, m->activity_uid,
                 "message for attempt %d, which waits for its %s: dropped", m->attempt,
                 "instances or child workflow");
        return WEFT_OK;
    }
    if (same && s->status == WEFT_ACTIVITY_RUNNING && (redelivered || s->lease_expired)) {
        /* The broker re-delivered an attempt still marked running, or its lease ran out:
         * its worker died mid-task (or lost its connection). Count it as a transient
         * failure, under the retry policy; the CAS in weft_store_fail settles races with a
         * live worker (one renewing the lease wins over a merely expired one). */
        char why[128];
        snprintf(why, sizeof why, "worker lost during attempt %d (%s)", m->attempt,
                 redelivered ? "crashed or disconnected" : "its lease expired");
        weft_status st = record_failure(e, m, s->queue, s->priority, &s->retry, s->retries, false,
                                        !redelivered, why, err);
        /* A worker killed right after it gave the claim back (a limit sent it round, or it
         * stopped) has its write land after this message came back: the attempt is queued
         * again with no message left to run it, so this one is sent again. */
        weft_activity_state now;
        if (!st && weft_store_activity_state(e->store, m->activity_uid, &now, err) == WEFT_OK &&
            now.status == WEFT_ACTIVITY_QUEUED && now.attempt == m->attempt) {
            st = dispatch_attempt(e, now.queue, m->workflow_uid, m->activity_uid, m->attempt,
                                  now.priority, err);
            st = st ? st : e->transport->flush(e->transport, err);
        }
        return st;
    }
    if (same && s->status == WEFT_ACTIVITY_QUEUED && s->workflow_running) {
        /* Queued between the failed claim and this read: a claim given back (a limit sent the
         * attempt round, its worker stopped or died just after) landed in between, and this
         * message may be the only one left to run it. A queued attempt is claimable, so a
         * message sent again runs it once; its CAS makes any other copy harmless. */
        WEFT_LOG(WEFT_LOG_DEBUG, m->workflow_uid, m->activity_uid,
                 "attempt %d was given back while this message came: sent again", m->attempt);
        weft_status st =
            dispatch_attempt(e, s->queue, m->workflow_uid, m->activity_uid, m->attempt,
                             s->priority, err);
        return st ? st : e->transport->flush(e->transport, err);
    }
    WEFT_LOG(WEFT_LOG_DEBUG, m->workflow_uid, m->activity_uid,
             "stale message for attempt %d (now %s, attempt %d): dropped", m->attempt,
             weft_activity_status_name(s->status), s->attempt);
    return WEFT_OK;
}

/* Postgres jsonb cannot hold U+0000 (in a string or a key): finds the first one in v and
 * writes where it is ("content", "rows[3].name") into path. */
static bool find_nul(const json_t *v, char *path, size_t n)
{
    if (json_is_string(v))
        return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
    size_t len = strlen(path);
    if (json_is_object(v)) {
        const char *key;
        size_t klen;
        json_t *item;
        json_object_keylen_foreach((json_t *)v, key, klen, item)
        {
            snprintf(path + len, n - len, "%s%.*s", len ? "." : "", (int)strnlen(key, klen), key);
            if (memchr(key, '\0', klen) || find_nul(item, path, n))
                return true;
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            snprintf(path + len, n - len, "[%zu]", i);
            if (find_nul(json_array_get(v, i), path, n))
                return true;
        }
    }
    path[len] = '\0';
    return false;
}

/* What the worker does while its attempt runs (about every 100 ms): keep the transport
 * alive, renew the lease every third of it, settle the message once the attempt has run
 * ack_after_s, and stop the attempt when its workflow is canceled (heard on the store's
 * connection at once, or from the next lease renewal). */
typedef struct {
    weft_engine *e;
    const weft_attempt_msg *m;
    weft_limit_hold *hold; /* the places it holds under global limits, renewed with the lease */
    int lease_s;
    double started, renewed;
    bool settled;     /* the message was acknowledged early */
    bool settle_done; /* settled, or tried and failed: not tried again */
    bool lost;        /* the lease is no longer ours: the result will be dropped */
    bool canceled;    /* the workflow was canceled: the runner stops the attempt */
    /* the last progress reported and not yet written (at most one write per
     * PROGRESS_INTERVAL_S: a task may report thousands a second) */
    bool progress_pending;
    double progress, progress_written;
    char progress_message[512];
    bool progress_has_message;
} attempt_watch;

#define PROGRESS_INTERVAL_S 0.5

/* Writes the pending progress when the last write is PROGRESS_INTERVAL_S old. A failed write
 * costs only this figure: the next report or tick tries again. */
static void flush_progress(attempt_watch *w, double now)
{
    if (!w->progress_pending || now - w->progress_written < PROGRESS_INTERVAL_S)
        return;
    weft_err err;
    weft_status st =
        weft_store_progress(w->e->store, w->m->activity_uid, w->m->attempt, w->progress,
                            w->progress_has_message ? w->progress_message : NULL, &err);
    w->progress_written = now;
    if (st == WEFT_OK || st == WEFT_ESTALE)
        w->progress_pending = false;
    else
        WEFT_LOG(WEFT_LOG_DEBUG, w->m->workflow_uid, w->m->activity_uid,
                 "recording the progress of attempt %d: %s", w->m->attempt, err.msg);
}

static void record_progress(void *arg, double progress, const char *message)
{
    attempt_watch *w = arg;
    w->progress = progress;
    w->progress_has_message = message != NULL;
    snprintf(w->progress_message, sizeof w->progress_message, "%s", message ? message : "");
    w->progress_pending = true;
    flush_progress(w, weft_clock_s());
}

static int lease_of(const weft_engine *e)
{
    return e->lease_s > 0 ? e->lease_s : WEFT_LEASE_DEFAULT_S;
}

static void watch_attempt(void *arg, int ms)
{
    attempt_watch *w = arg;
    weft_engine *e = w->e;
    e->transport->idle(e->transport, ms);
    double now = weft_clock_s();
    flush_progress(w, now);
    weft_err err;
    if (!w->canceled && weft_store_cancel_noticed(e->store, w->m->workflow_uid))
        w->canceled = true;
    if (!w->lost && now - w->renewed >= w->lease_s / 3.0) {
        bool canceled = false;
        weft_status st = weft_store_renew_lease(e->store, w->m->activity_uid, w->m->attempt,
                                                w->lease_s, &canceled, &err);
        w->canceled |= canceled;
        if (st == WEFT_ESTALE) {
            w->lost = true;
            WEFT_LOG(WEFT_LOG_WARN, w->m->workflow_uid, w->m->activity_uid,
                     "attempt %d is no longer this worker's (its lease expired and it was"
                     " failed as lost, or its workflow ended): its result will be dropped",
                     w->m->attempt);
        } else if (st) {
            /* try again in a second; the lease survives two missed renewals */
            WEFT_LOG(WEFT_LOG_WARN, w->m->workflow_uid, w->m->activity_uid,
                     "renewing the lease of attempt %d: %s", w->m->attempt, err.msg);
            w->renewed = now - w->lease_s / 3.0 + 1.0;
        } else {
            w->renewed = now;
        }
        if (w->hold->n && e->lock &&
            (st = weft_limit_hold_renew(e->lock, w->hold, w->lease_s * 1000, &err)))
            WEFT_LOG(WEFT_LOG_WARN, w->m->workflow_uid, w->m->activity_uid,
                     "renewing the global limit places of attempt %d: %s", w->m->attempt,
                     err.msg);
    }
    if (!w->settle_done && e->ack_after_s > 0 && e->transport->settle &&
        now - w->started >= e->ack_after_s) {
        w->settle_done = true;
        if (e->transport->settle(e->transport, &err) == WEFT_OK) {
            w->settled = true;
            WEFT_LOG(WEFT_LOG_INFO, w->m->workflow_uid, w->m->activity_uid,
                     "attempt %d running for %d s: its message is acknowledged, its lease"
                     " guards it now",
                     w->m->attempt, e->ack_after_s);
        } else {
            /* the connection is failing: the broker will redeliver, the claim settles it */
            WEFT_LOG(WEFT_LOG_WARN, w->m->workflow_uid, w->m->activity_uid,
                     "acknowledging attempt %d early: %s", w->m->attempt, err.msg);
        }
    }
}

/* How an attempt ended, as weft_attempts_total counts it (telemetry.h). */
static weft_attempt_outcome attempt_outcome(weft_task_result res, bool abandoned, bool canceled)
{
    if (abandoned)
        return canceled ? WEFT_ATTEMPT_CANCELED : WEFT_ATTEMPT_HANDED_BACK;
    if (res == WEFT_TASK_OK)
        return WEFT_ATTEMPT_COMPLETED;
    return res == WEFT_TASK_PERMANENT ? WEFT_ATTEMPT_PERMANENT : WEFT_ATTEMPT_TRANSIENT;
}

/* A claimed attempt a limit keeps from starting: the claim is undone (running -> queued, no
 * attempt counted), why is recorded for `weft status`, and the message goes round again
 * through a delay queue, so this slot serves other messages meanwhile. */
static weft_status send_round(weft_engine *e, const weft_attempt_msg *m, const weft_claim *c,
                              int delay_ms, const char *why, weft_err *err)
{
    WEFT_LOG(WEFT_LOG_DEBUG, m->workflow_uid, m->activity_uid,
             "waiting for %s: attempt %d comes back in %d ms", why, m->attempt, delay_ms);
    weft_status st = weft_store_release(e->store, m->activity_uid, m->attempt, NULL, err);
    if (st == WEFT_OK) {
        weft_err werr;
        if (weft_store_limit_wait(e->store, m->activity_uid, m->attempt, why, &werr) == WEFT_EDB)
            WEFT_LOG(WEFT_LOG_DEBUG, m->workflow_uid, m->activity_uid,
                     "recording why attempt %d waits: %s", m->attempt, werr.msg);
        st = publish_retry(e, c->queue, m->workflow_uid, m->activity_uid, m->attempt, c->priority,
                           delay_ms, err);
    }
    return st == WEFT_ESTALE ? WEFT_OK : st;
}

/* Lets a claimed attempt start when its worker's limit (type_gate.h) and the limits across
 * all workers (global_limit.h) have room, filling *hold with the places it took. Otherwise
 * *gone: it was sent round (send_round), or failed PERMANENT for a concurrency key its input
 * lacks. A Redis failure gives the claim back and returns the status, so the message is
 * redelivered rather than acked. */
static weft_status enter_limits(weft_engine *e, const weft_attempt_msg *m, const weft_claim *c,
                                const json_t *input, int lease_s, weft_limit_hold *hold,
                                bool *gone, weft_err *err)
{
    memset(hold, 0, sizeof *hold);
    char why[256];
    if (e->gate && !weft_type_gate_enter(e->gate, c->task)) {
        *gone = true;
        snprintf(why, sizeof why, "worker limit %s", c->task);
        return send_round(e, m, c, WEFT_GATE_RETRY_MS, why, err);
    }
    weft_limit_request rq = {m->workflow_uid, m->activity_uid, c->name,     m->attempt,
                             c->task,         c->concurrency,  input,       lease_s * 1000};
    weft_limit_outcome outcome;
    int wait_ms = 0;
    weft_status st = weft_global_limits_enter(e->global, e->store, e->lock, &rq, hold, &outcome,
                                              &wait_ms, why, sizeof why, err);
    if (!st && outcome == WEFT_LIMIT_ENTERED)
        return WEFT_OK;
    if (e->gate)
        weft_type_gate_leave(e->gate, c->task);
    *gone = true;
    if (st) {
        weft_err rerr;
        if (weft_store_release(e->store, m->activity_uid, m->attempt, NULL, &rerr) == WEFT_EDB)
            WEFT_LOG(WEFT_LOG_WARN, m->workflow_uid, m->activity_uid,
                     "giving back attempt %d after a limit failed: %s", m->attempt, rerr.msg);
        return st;
    }
    if (outcome == WEFT_LIMIT_WAIT)
        return send_round(e, m, c, wait_ms, why, err);
    return record_failure(e, m, c->queue, c->priority, &c->retry, c->retries, true, false, why,
                          err);
}

weft_status weft_engine_activity(weft_engine *e, const char *body, size_t len, bool redelivered,
                                 weft_err *err)
{
    weft_attempt_msg m;
    weft_status st = weft_msg_decode_attempt(body, len, e->limits.max_message_bytes, &m, err);
    if (st)
        return st;
    weft_claim c;
    weft_activity_state state;
    int lease_s = lease_of(e);
    /* before the claim: a cancel committed after it is then heard (one before it makes the
     * claim fail, the workflow no longer running) */
    st = weft_store_listen_cancels(e->store, err);
    if (st)
        return st;
    st = weft_store_claim(e->store, m.workflow_uid, m.activity_uid, m.attempt, e->worker,
                          e->worker_id, lease_s, &c, &state, err);
    if (st == WEFT_ESTALE)
        return not_claimed(e, &m, &state, redelivered, err);
    if (st)
        return st;
    if (weft_compose_handles(&c)) {
        /* a map or a child workflow: set going, then the message is done with */
        st = weft_compose_run(e, &m, &c, err);
        weft_claim_finish(&c);
        return st;
    }
    json_t *input = weft_dag_merge_input(c.inputs, (const json_t *const *)c.upstream_ordered,
                                         c.nupstream, c.params);
    weft_compose_instance_input(&c, input);
    weft_limit_hold hold;
    bool gone = false; /* sent round or failed at the door: nothing to run */
    st = enter_limits(e, &m, &c, input, lease_s, &hold, &gone, err);
    if (st || gone) {
        json_decref(input);
        weft_claim_finish(&c);
        return st;
    }

    json_t *output = NULL;
    char errbuf[512] = "";
    bool abandoned = false;
    weft_task_ctx ctx = {m.workflow_uid, m.activity_uid, c.name,     m.attempt,
                         input,          c.params,       c.upstream, e->data_dir};
    double started = weft_clock_s();
    attempt_watch watch = {.e = e,
                           .m = &m,
                           .hold = &hold,
                           .lease_s = lease_s,
                           .started = started,
                           .renewed = started,
                           .progress_written = started - PROGRESS_INTERVAL_S};
    weft_runner_opts opts = {c.timeout_s,     e->grace_s,      watch_attempt, &watch,
                             record_progress, &watch.canceled, c.heartbeat_s};
    WEFT_LOG(WEFT_LOG_DEBUG, m.workflow_uid, m.activity_uid, "running %s attempt %d", c.task,
             m.attempt);
    weft_telemetry_attempt_started();
    weft_task_result res =
        weft_runner_run(e->runner, c.task, &ctx, &opts, &output, errbuf, sizeof errbuf, &abandoned);
    if (e->gate)
        weft_type_gate_leave(e->gate, c.task);
    weft_limit_hold_release(e->lock, &hold, m.workflow_uid, m.activity_uid);
    char nul_at[128] = "";
    if (res == WEFT_TASK_OK && !json_is_object(output)) {
        res = WEFT_TASK_PERMANENT;
        snprintf(errbuf, sizeof errbuf, "task '%s' returned no JSON object", c.task);
    } else if (res == WEFT_TASK_OK && find_nul(output, nul_at, sizeof nul_at)) {
        res = WEFT_TASK_PERMANENT;
        snprintf(errbuf, sizeof errbuf,
                 "task '%s' output holds a NUL character (U+0000) at '%s', which cannot be"
                 " stored: encode binary data (base64) or strip it",
                 c.task, nul_at);
    }
    weft_telemetry_attempt_ended(c.task, attempt_outcome(res, abandoned, watch.canceled),
                                 weft_clock_s() - started);
    if (abandoned && watch.canceled) {
        /* stopped because its workflow was canceled: running → canceled, and the message is
         * done with (acked); a workflow running again by now (it cannot be resumed, but
         * should it be) gets the attempt queued and sent again */
        bool canceled = false;
        st = weft_store_release(e->store, m.activity_uid, m.attempt, &canceled, err);
        WEFT_LOG(WEFT_LOG_INFO, m.workflow_uid, m.activity_uid,
                 "attempt %d stopped: its workflow was canceled", m.attempt);
        if (st == WEFT_OK && !canceled) {
            st = publish_attempt(e, WEFT_QUEUE_DEFAULT, m.workflow_uid, m.activity_uid, m.attempt,
                                 c.priority, err);
            if (!st)
                st = e->transport->flush(e->transport, err);
        }
        json_decref(input);
        weft_claim_finish(&c);
        return st == WEFT_ESTALE ? WEFT_OK : st;
    }
    if (abandoned) {
        /* stopping, grace spent: hand the attempt back so its redelivery is no failure */
        WEFT_LOG(WEFT_LOG_WARN, m.workflow_uid, m.activity_uid,
                 "attempt %d unfinished at shutdown: handed back for redelivery", m.attempt);
        st = weft_store_release(e->store, m.activity_uid, m.attempt, NULL, err);
        if (st == WEFT_OK && watch.settled) {
            /* its message is gone: send the released attempt again for its next run */
            st = dispatch_attempt(e, c.queue, m.workflow_uid, m.activity_uid, m.attempt, c.priority,
                                  err);
            if (!st)
                st = e->transport->flush(e->transport, err);
        }
        json_decref(input);
        weft_claim_finish(&c);
        return st == WEFT_OK || st == WEFT_ESTALE ? WEFT_ESHUTDOWN : st;
    }
    if (res == WEFT_TASK_OK) {
        weft_backoff backoff = WEFT_BACKOFF_INIT(STORE_BACKOFF_MAX_MS);
        double started = weft_clock_s();
        do
            st = weft_store_complete(e->store, m.activity_uid, m.attempt, input, output, err);
        while (st && store_backoff(e, started, &backoff, st, err));
        if (st == WEFT_ESTALE)
            st = WEFT_OK; /* someone else settled this attempt: nothing to hand off */
        else if (!st)
            st = publish_handoff(e, m.workflow_uid, m.activity_uid, m.attempt, err);
        if (!st)
            st = e->transport->flush(e->transport, err);
    } else {
        if (!errbuf[0])
            snprintf(errbuf, sizeof errbuf, "task '%s' failed", c.task);
        st = record_failure(e, &m, c.queue, c.priority, &c.retry, c.retries,
                            res == WEFT_TASK_PERMANENT, false, errbuf, err);
    }
    json_decref(output);
    json_decref(input);
    weft_claim_finish(&c);
    return st;
}

weft_status weft_engine_handoff(weft_engine *e, const char *body, size_t len, weft_err *err)
{
    weft_attempt_msg m;
    weft_status st = weft_msg_decode_attempt(body, len, e->limits.max_message_bytes, &m, err);
    if (st)
        return st;
    double started = weft_clock_s();
    held_lock lock;
    st = with_lock(e, m.workflow_uid, HANDOFF_LOCK_WAIT_MS, &lock, err);
    if (st == WEFT_EBUSY) {
        /* to the back of the queue: the others go first, and the holder has time to finish */
        WEFT_LOG(WEFT_LOG_DEBUG, m.workflow_uid, m.activity_uid,
                 "workflow locked by another holder: handoff of attempt %d requeued at the back",
                 m.attempt);
        st = publish_handoff(e, m.workflow_uid, m.activity_uid, m.attempt, err);
        return st ? st : e->transport->flush(e->transport, err);
    }
    if (st)
        return st;
    weft_dispatch_list l = {0};
    weft_workflow_status wf_status = WEFT_WORKFLOW_RUNNING;
    st = weft_store_handoff(e->store, m.workflow_uid, m.activity_uid, m.attempt, &l, &wf_status,
                            err);
    if (st == WEFT_ESTALE)
        st = WEFT_OK;
    if (!st)
        st = dispatch_all(e, m.workflow_uid, &l, err);
    if (!st && wf_status == WEFT_WORKFLOW_FAILED)
        st = weft_compose_cancel_children(e, m.workflow_uid, "failed", err);
    unlock(&lock, m.workflow_uid);
    if (!st)
        weft_telemetry_handoff(weft_clock_s() - started);
    if (!st && (wf_status == WEFT_WORKFLOW_COMPLETED || wf_status == WEFT_WORKFLOW_FAILED))
        WEFT_LOG(WEFT_LOG_INFO, m.workflow_uid, NULL, "workflow %s",
                 weft_workflow_status_name(wf_status));
    weft_dispatch_list_finish(&l);
    return st;
}

/* The workflow locks of a batch of handoffs: one per distinct workflow, under one token,
 * renewed together while a flush waits. */
typedef struct {
    weft_engine *e;
    char (*keys)[LOCK_KEY_MAX];
    const char **names; /* keys[i], for the lock calls */
    int n;
    char token[WEFT_LOCK_TOKEN_LEN + 1];
} held_locks;

static void renew_locks(void *arg)
{
    held_locks *h = arg;
    weft_err err;
    if (weft_lock_renew_many(h->e->lock, h->names, h->n, h->token, LOCK_LEASE_MS, &err))
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "%s", err.msg);
}

weft_status weft_engine_handoff_batch(weft_engine *e, const char *const *bodies,
                                      const size_t *lens, size_t n, weft_err *err)
{
    if (n > WEFT_LOCK_MANY_MAX)
        return weft_err_set(err, WEFT_EINVAL, "a batch of %zu handoffs is over %d", n,
                            WEFT_LOCK_MANY_MAX);
    weft_attempt_msg *m = weft_xcalloc(n, sizeof *m);
    weft_handoff_item *items = weft_xcalloc(n, sizeof *items);
    held_locks locks = {.e = e, .keys = weft_xcalloc(n, sizeof *locks.keys),
                        .names = weft_xcalloc(n, sizeof *locks.names)};
    /* last[i]: no later message of the batch is of i's workflow, so i stands for it: one
     * lock per workflow, and i's status after the batch is the workflow's */
    bool *last = weft_xcalloc(n, sizeof *last);
    weft_status st = WEFT_OK;
    for (size_t i = 0; i < n && !st; i++) {
        st = weft_msg_decode_attempt(bodies[i], lens[i], e->limits.max_message_bytes, &m[i], err);
        items[i] = (weft_handoff_item){.workflow_uid = m[i].workflow_uid,
                                       .uid = m[i].activity_uid,
                                       .attempt = m[i].attempt};
    }
    for (size_t i = 0; i < n && !st; i++) {
        last[i] = true;
        for (size_t k = i + 1; k < n && last[i]; k++)
            last[i] = strcmp(m[k].workflow_uid, m[i].workflow_uid) != 0;
        if (last[i]) {
            lock_key(m[i].workflow_uid, locks.keys[locks.n]);
            locks.names[locks.n] = locks.keys[locks.n];
            locks.n++;
        }
    }
    double started = weft_clock_s();
    /* no waiting for a lock here: a batch with a contended workflow goes one at a time,
     * where a held lock sends that one message to the back of the queue */
    bool locked = false;
    if (!st && e->lock) {
        st = weft_lock_acquire_many(e->lock, locks.names, locks.n, LOCK_LEASE_MS, locks.token,
                                    err);
        locked = st == WEFT_OK;
        if (locked) {
            e->transport->on_wait = renew_locks;
            e->transport->on_wait_arg = &locks;
        }
    }
    if (!st)
        st = weft_store_handoff_batch(e->store, items, n, err);
    for (size_t i = 0; i < n && !st; i++) /* a stale one has nothing to dispatch */
        st = publish_dispatches(e, items[i].workflow_uid, &items[i].dispatch, err);
    if (!st)
        st = e->transport->flush(e->transport, err);
    /* once per failed workflow of the batch; also when its handoff was stale (a redelivery
     * after the workflow failed), as a single handoff does: a cascade a crash cut short goes
     * on here */
    for (size_t i = 0; i < n && !st; i++)
        if (last[i] && items[i].status == WEFT_WORKFLOW_FAILED)
            st = weft_compose_cancel_children(e, items[i].workflow_uid, "failed", err);
    if (locked) {
        e->transport->on_wait = NULL;
        e->transport->on_wait_arg = NULL;
        weft_err uerr;
        if (weft_lock_release_many_deferred(e->lock, locks.names, locks.n, locks.token, &uerr))
            WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "workflow locks not released: %s", uerr.msg);
    }
    double took = weft_clock_s() - started;
    for (size_t i = 0; i < n; i++) {
        weft_workflow_status ws = items[i].status;
        if (!st)
            weft_telemetry_handoff(took);
        if (!st && !items[i].stale &&
            (ws == WEFT_WORKFLOW_COMPLETED || ws == WEFT_WORKFLOW_FAILED))
            WEFT_LOG(WEFT_LOG_INFO, m[i].workflow_uid, NULL, "workflow %s",
                     weft_workflow_status_name(ws));
        weft_dispatch_list_finish(&items[i].dispatch);
    }
    free(last);
    free(locks.names);
    free(locks.keys);
    free(items);
    free(m);
    return st;
}

/* Logs the first few of what a sweep re-sent, one line each, so an operator can follow
 * them; the count covers the rest. */
#define SWEEP_LOG_ITEMS 10

/* Re-sends the attempts of l to their activities' queues (attempts), or their handoffs. */
static weft_status resend(weft_engine *e, bool attempts, const weft_dispatch_list *l,
                          const char *why, weft_err *err)
{
    for (size_t i = 0; i < l->n; i++) {
        const weft_dispatch *d = &l->items[i];
        char amqp[WEFT_QUEUE_AMQP_MAX]; /* room for a handoff shard's name too */
        const char *queue = attempts ? weft_queue_amqp(d->queue, amqp)
                                     : weft_queue_handoff(d->workflow_uid, e->handoff_shards, amqp);
        if (i < SWEEP_LOG_ITEMS)
            WEFT_LOG(WEFT_LOG_WARN, d->workflow_uid, d->uid, "sweep: attempt %d re-sent to %s (%s)",
                     d->attempt, queue, why);
        weft_status st = publish_attempt(e, queue, d->workflow_uid, d->uid, d->attempt,
                                         attempts ? d->priority : 0, err);
        if (st)
            return st;
    }
    return WEFT_OK;
}

/* A running attempt whose lease expired: failed as a transient failure of a lost worker
 * (retried, or failed for good and handed off), unless its worker renewed it meanwhile. */
static weft_status fail_lost(weft_engine *e, const weft_lost_attempt *a, bool log, weft_err *err)
{
    weft_attempt_msg m;
    snprintf(m.workflow_uid, sizeof m.workflow_uid, "%s", a->at.workflow_uid);
    snprintf(m.activity_uid, sizeof m.activity_uid, "%s", a->at.uid);
    m.attempt = a->at.attempt;
    char why[160];
    snprintf(why, sizeof why,
             "worker lost during attempt %d (its lease expired %d s ago with no renewal)",
             a->at.attempt, a->expired_s);
    if (log)
        WEFT_LOG(WEFT_LOG_WARN, m.workflow_uid, m.activity_uid, "sweep: %s", why);
    return record_failure(e, &m, a->at.queue, a->at.priority, &a->retry, a->retries, false, true,
                          why, err);
}

weft_status weft_engine_sweep(weft_engine *e, const weft_sweep_opts *o, weft_sweep_report *report,
                              weft_err *err)
{
    memset(report, 0, sizeof *report);
    weft_dispatch_list acts = {0}, handoffs = {0};
    weft_lost_attempts lost = {0};
    int dispatch_age = o->older_than_s * (o->dispatch_backlog ? WEFT_SWEEP_BACKLOG_FACTOR : 1);
    int handoff_age = o->older_than_s * (o->handoff_backlog ? WEFT_SWEEP_BACKLOG_FACTOR : 1);
    weft_status st = weft_store_sweep_leases(e->store, o->batch, &lost, err);
    for (size_t i = 0; !st && i < lost.n; i++) {
        st = fail_lost(e, &lost.items[i], i < SWEEP_LOG_ITEMS, err);
        if (!st)
            report->expired_leases++;
    }
    if (!st)
        st = weft_store_sweep_dispatches(e->store, dispatch_age, o->batch, &acts, err);
    if (!st)
        st = resend(e, true, &acts, "queued too long: a lost dispatch", err);
    if (!st)
        report->lost_dispatches = (int)acts.n;
    if (!st)
        st = weft_store_sweep_handoffs(e->store, handoff_age, o->batch, &handoffs, err);
    if (!st)
        st = resend(e, false, &handoffs, "finished but not handed off", err);
    if (!st)
        report->lost_handoffs = (int)handoffs.n;
    if (!st)
        st = e->transport->flush(e->transport, err);
    weft_dispatch_list_finish(&acts);
    weft_dispatch_list_finish(&handoffs);
    weft_lost_attempts_finish(&lost);
    return st;
}

#include "global_limit.h"

#include "alloc.h"
#include "broker.h"
#include "clock.h"
#include "log.h"
#include "rate.h"
#include "store_limit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis's own clock for every lease and turn, so workers' clocks need not agree. TIME before
 * a write needs effects replication, the default since Redis 5 and asked for on older ones. */
#define NOW_MS                                                                                     \
    "if redis.replicate_commands then redis.replicate_commands() end "                             \
    "local t = redis.call('TIME') "                                                                \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "

/* The set's own expiry covers its longest lease, so an idle limit leaves no key behind. */
#define KEEP_SET                                                                                   \
    "if redis.call('PTTL', KEYS[1]) < lease then redis.call('PEXPIRE', KEYS[1], lease) end "

/* KEYS[1] = semaphore, ARGV = token, limit, lease ms -> {taken 0/1, holders}. */
static const char take_script[] =
    NOW_MS "local lease = tonumber(ARGV[3]) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) "
    "local held = redis.call('ZCARD', KEYS[1]) "
    "if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then "
    "  if held >= tonumber(ARGV[2]) then return {0, held} end "
    "  held = held + 1 "
    "end "
    "redis.call('ZADD', KEYS[1], now + lease, ARGV[1]) " KEEP_SET "return {1, held}";

/* KEYS[1] = semaphore, ARGV = token, lease ms -> 1 renewed, 0 no longer held. */
static const char renew_script[] =
    NOW_MS "local lease = tonumber(ARGV[2]) "
    "local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1]) "
    "if not expiry or tonumber(expiry) < now then return 0 end "
    "redis.call('ZADD', KEYS[1], now + lease, ARGV[1]) " KEEP_SET "return 1";

/* KEYS[1] = semaphore, ARGV[1] = token. */
static const char give_script[] = "return redis.call('ZREM', KEYS[1], ARGV[1])";

/* KEYS[1] = the type's bucket (its next free turn, ms), KEYS[2] = this attempt's reservation;
 * ARGV = interval ms, early ms -> ms until this attempt's turn (0: start now). */
static const char rate_script[] =
    NOW_MS "local interval = tonumber(ARGV[1]) "
    "local early = tonumber(ARGV[2]) "
    "local mine = redis.call('GET', KEYS[2]) "
    "if mine then "
    "  mine = tonumber(mine) "
    "  if mine <= now + early then redis.call('DEL', KEYS[2]) return 0 end "
    "  return math.ceil(mine - now) "
    "end "
    "local turn = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if turn < now then turn = now end "
    "redis.call('SET', KEYS[1], tostring(turn + interval), 'PX', "
    "  math.ceil(turn + interval - now) + 1000) "
    "if turn <= now + early then return 0 end "
    "redis.call('SET', KEYS[2], tostring(turn), 'PX', math.ceil(turn - now) + 60000) "
    "return math.ceil(turn - now)";

typedef struct {
    char *task;
    int concurrency; /* 0: not limited */
    double per_s;    /* 0: no rate */
    char rate[32];
} limit_entry;

struct weft_global_limits {
    pthread_mutex_t mu;
    limit_entry *items;
    size_t n;
    int64_t read_ms; /* when the table was last read; 0: never */
};

weft_global_limits *weft_global_limits_create(void)
{
    weft_global_limits *g = weft_xcalloc(1, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    return g;
}

static void free_entries(limit_entry *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i].task);
    free(items);
}

void weft_global_limits_destroy(weft_global_limits *g)
{
    if (!g)
        return;
    free_entries(g->items, g->n);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

/* Re-reads the table when the cache is WEFT_GLOBAL_LIMITS_CACHE_MS old. The query runs
 * outside the mutex (two threads may both read; the last one's copy stays). A failure keeps
 * the old copy when there is one. */
static weft_status refresh(weft_global_limits *g, weft_store *s, weft_err *err)
{
    int64_t now = weft_clock_ms();
    pthread_mutex_lock(&g->mu);
    bool fresh = g->read_ms && now - g->read_ms < WEFT_GLOBAL_LIMITS_CACHE_MS;
    bool ever = g->read_ms != 0;
    pthread_mutex_unlock(&g->mu);
    if (fresh)
        return WEFT_OK;
    json_t *list = NULL;
    weft_status st = weft_store_limits(s, &list, err);
    if (st) {
        if (!ever)
            return st;
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "reading the global limits (keeping the last): %s",
                 err->msg);
        return WEFT_OK;
    }
    size_t n = json_array_size(list);
    limit_entry *items = weft_xcalloc(n + 1, sizeof *items);
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(list, i);
        items[i].task = weft_xstrdup(json_string_value(json_object_get(o, "task")));
        items[i].concurrency = (int)json_integer_value(json_object_get(o, "concurrency"));
        items[i].per_s = json_number_value(json_object_get(o, "rate_per_s"));
        const char *rate = json_string_value(json_object_get(o, "rate"));
        snprintf(items[i].rate, sizeof items[i].rate, "%s", rate ? rate : "");
    }
    json_decref(list);
    pthread_mutex_lock(&g->mu);
    limit_entry *old = g->items;
    size_t nold = g->n;
    g->items = items;
    g->n = n;
    g->read_ms = now;
    pthread_mutex_unlock(&g->mu);
    free_entries(old, nold);
    return WEFT_OK;
}

/* task's limits into *out (zeroed when it has none). */
static void lookup(weft_global_limits *g, const char *task, limit_entry *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->items[i].task, task) == 0) {
            *out = g->items[i];
            out->task = NULL; /* borrowed from the cache: not kept past the mutex */
        }
    pthread_mutex_unlock(&g->mu);
}

/* The text of the concurrency key's value in input (a string as it is, a number or boolean as
 * JSON); false with why set when it is missing, null, or an object or array. */
static bool key_value(const weft_limit_request *rq, const char *key, char *out, size_t n,
                      char *why, size_t why_len)
{
    const json_t *v = json_object_get(rq->input, key);
    if (!v || json_is_null(v)) {
        snprintf(why, why_len, "activity '%s': concurrency key '%s' is not in its merged input",
                 rq->activity, key);
        return false;
    }
    if (json_is_string(v)) {
        snprintf(out, n, "%s", json_string_value(v));
    } else if (json_is_number(v) || json_is_boolean(v)) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(out, n, "%s", text ? text : "");
        free(text);
    } else {
        snprintf(why, why_len,
                 "activity '%s': concurrency key '%s' must be a string, number or boolean in its"
                 " merged input, got %s",
                 rq->activity, key, json_is_object(v) ? "an object" : "an array");
        return false;
    }
    if (strlen(out) >= n - 1 && n > 1) {
        snprintf(why, why_len, "activity '%s': concurrency key '%s': its value is longer than %zu"
                               " bytes",
                 rq->activity, key, n - 2);
        return false;
    }
    return true;
}

/* Takes a place of semaphore key for hold's token: *taken, *holders after. */
static weft_status take(weft_lock *l, const char *key, const char *token, int limit, int lease_ms,
                        bool *taken, long long *holders, weft_err *err)
{
    char lim[16], lease[16];
    snprintf(lim, sizeof lim, "%d", limit);
    snprintf(lease, sizeof lease, "%d", lease_ms);
    const char *args[] = {key, token, lim, lease};
    long long r[2] = {0, 0};
    int got = 0;
    weft_status st = weft_lock_eval(l, take_script, "semaphore take", 1, 4, args, r, 2, &got, err);
    if (!st && got != 2)
        st = weft_err_set(err, WEFT_EREDIS, "semaphore '%s': a reply of %d values", key, got);
    *taken = r[0] == 1;
    *holders = r[1];
    return st;
}

void weft_limit_hold_release(weft_lock *l, weft_limit_hold *hold, const char *workflow_uid,
                             const char *activity_uid)
{
    for (int i = 0; i < hold->n; i++) {
        const char *args[] = {hold->keys[i], hold->token};
        weft_err err;
        long long removed = 0;
        if (l && weft_lock_eval(l, give_script, "semaphore give", 1, 2, args, &removed, 1, NULL,
                                &err))
            WEFT_LOG(WEFT_LOG_WARN, workflow_uid, activity_uid,
                     "giving back a place of '%s' (its lease frees it): %s", hold->keys[i],
                     err.msg);
        free(hold->keys[i]);
        hold->keys[i] = NULL;
    }
    hold->n = 0;
}

weft_status weft_limit_hold_renew(weft_lock *l, weft_limit_hold *hold, int lease_ms,
                                  weft_err *err)
{
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_ms);
    weft_status result = WEFT_OK;
    for (int i = 0; i < hold->n; i++) {
        const char *args[] = {hold->keys[i], hold->token, lease};
        long long renewed = 0;
        weft_status st = weft_lock_eval(l, renew_script, "semaphore renew", 1, 3, args, &renewed,
                                        1, NULL, err);
        if (st)
            return st;
        if (renewed != 1)
            result = weft_err_set(err, WEFT_ESTALE,
                                  "the place of '%s' expired before its renewal", hold->keys[i]);
    }
    return result;
}

/* Asks the type's rate bucket for this attempt's turn: *wait_ms 0 to start now. */
static weft_status rate_turn(weft_lock *l, const weft_limit_request *rq, double per_s,
                             int *wait_ms, weft_err *err)
{
    char bucket[WEFT_MAX_NAME_LEN + 32], mine[WEFT_MAX_NAME_LEN + 96], interval[32], early[16];
    /* one hash tag: both keys in one slot of a Redis cluster */
    snprintf(bucket, sizeof bucket, "weft:rate:{%s}", rq->task);
    snprintf(mine, sizeof mine, "weft:rate:{%s}:%s/%d", rq->task, rq->activity_uid, rq->attempt);
    snprintf(interval, sizeof interval, "%.6f", weft_rate_interval_ms(per_s));
    snprintf(early, sizeof early, "%d", WEFT_RATE_EARLY_MS);
    const char *args[] = {bucket, mine, interval, early};
    long long wait = 0;
    weft_status st = weft_lock_eval(l, rate_script, "rate turn", 2, 4, args, &wait, 1, NULL, err);
    *wait_ms = st ? 0 : (int)(wait > 0 ? (wait > INT32_MAX ? INT32_MAX : wait) : 0);
    return st;
}

weft_status weft_global_limits_enter(weft_global_limits *g, weft_store *s, weft_lock *l,
                                     const weft_limit_request *rq, weft_limit_hold *hold,
                                     weft_limit_outcome *outcome, int *wait_ms, char *why,
                                     size_t why_len, weft_err *err)
{
    memset(hold, 0, sizeof *hold);
    snprintf(hold->token, sizeof hold->token, "%s/%d", rq->activity_uid, rq->attempt);
    *outcome = WEFT_LIMIT_ENTERED;
    *wait_ms = 0;
    why[0] = '\0';

    const char *key = json_string_value(json_object_get(rq->concurrency, "key"));
    int key_limit = (int)json_integer_value(json_object_get(rq->concurrency, "limit"));
    char value[WEFT_CONCURRENCY_VALUE_MAX + 2];
    if (key && !key_value(rq, key, value, sizeof value, why, why_len)) {
        *outcome = WEFT_LIMIT_REFUSED;
        return WEFT_OK;
    }
    limit_entry lim = {0};
    if (g && l) {
        weft_status st = refresh(g, s, err);
        if (st)
            return st;
        lookup(g, rq->task, &lim);
    }
    if (!l || (!key && lim.concurrency == 0 && lim.per_s == 0))
        return WEFT_OK;

    weft_status st = WEFT_OK;
    bool taken = true;
    long long holders = 0;
    if (lim.concurrency > 0) {
        hold->keys[hold->n] = weft_xasprintf("weft:limit:task:%s", rq->task);
        st = take(l, hold->keys[hold->n], hold->token, lim.concurrency, rq->lease_ms, &taken,
                  &holders, err);
        if (!st && !taken)
            snprintf(why, why_len, "global limit %s %lld/%d", rq->task, holders, lim.concurrency);
        if (!st && taken)
            hold->n++;
    }
    if (!st && taken && key) {
        /* the key's length first: key "a:b", value "c" is no key "a", value "b:c" */
        hold->keys[hold->n] =
            weft_xasprintf("weft:limit:key:%s:%zu:%s:%s", rq->task, strlen(key), key, value);
        st = take(l, hold->keys[hold->n], hold->token, key_limit, rq->lease_ms, &taken, &holders,
                  err);
        if (!st && !taken)
            snprintf(why, why_len, "concurrency key %s=%.64s %lld/%d", key, value, holders,
                     key_limit);
        if (!st && taken)
            hold->n++;
    }
    if (!st && taken && lim.per_s > 0) {
        int wait = 0;
        st = rate_turn(l, rq, lim.per_s, &wait, err);
        if (!st && wait > 0) {
            size_t nb;
            const int *buckets = weft_broker_delay_buckets(&nb);
            *outcome = WEFT_LIMIT_WAIT;
            *wait_ms = weft_rate_hop_ms(wait, buckets, nb);
            snprintf(why, why_len, "rate limit %s %s (its turn in %d ms)", rq->task, lim.rate,
                     wait);
        }
    }
    if (!st && !taken) {
        *outcome = WEFT_LIMIT_WAIT;
        *wait_ms = WEFT_LIMIT_RETRY_MS;
    }
    if (st || *outcome != WEFT_LIMIT_ENTERED) {
        /* nothing half-held: a place taken before the refusal goes back at once */
        if (hold->n < 2) { /* the one not taken (NULL when none) */
            free(hold->keys[hold->n]);
            hold->keys[hold->n] = NULL;
        }
        weft_limit_hold_release(l, hold, rq->workflow_uid, rq->activity_uid);
    }
    return st;
}

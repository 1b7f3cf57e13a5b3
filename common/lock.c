/* Per-workflow locks in Redis (DESIGN §5.5).
 *
 * One weft_lock holds one hiredis connection; a mutex serializes its commands, so threads
 * may share a client (a waiting acquire drops the mutex while it sleeps). A connection that
 * fails is dropped and reopened by the next call, so a Redis restart costs the callers one
 * WEFT_EREDIS each, never a restart of the process. The password is kept only to send AUTH:
 * messages name the server as host:port and nothing else from the URL. */
#include "lock.h"

#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "telemetry.h"
#include "uuid.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOCK_DEFAULT_PORT 6379
#define LOCK_MAX_DB 2147483647L /* SELECT takes a 32-bit index */
#define LOCK_CONNECT_TIMEOUT_MS 2000
#define LOCK_COMMAND_TIMEOUT_MS 5000
#define LOCK_POLL_FIRST_MS 2
#define LOCK_POLL_MAX_MS 50
/* a script's keys and arguments: the many-key calls' keys, token and lease */
#define SCRIPT_MAX_ARGS (WEFT_LOCK_MANY_MAX + 2)

/* KEYS = lock keys, ARGV[1] = token: delete those that are still ours; returns how many. */
static const char release_script[] =
    "local n = 0 for _, k in ipairs(KEYS) do if redis.call('GET', k) == ARGV[1] then "
    "n = n + redis.call('DEL', k) end end return n";

/* KEYS = lock keys, ARGV[1] = token, ARGV[2] = lease ms: extend those that are still ours;
 * returns how many. */
static const char renew_script[] =
    "local n = 0 for _, k in ipairs(KEYS) do if redis.call('GET', k) == ARGV[1] then "
    "n = n + redis.call('PEXPIRE', k, ARGV[2]) end end return n";

/* KEYS = lock keys, ARGV[1] = token, ARGV[2] = lease ms: all of them or none, at once
 * (a script runs atomically): 0 when taken, else the 1-based index of the first one held. */
static const char acquire_script[] =
    "for i, k in ipairs(KEYS) do if redis.call('EXISTS', k) == 1 then return i end end "
    "for _, k in ipairs(KEYS) do redis.call('SET', k, ARGV[1], 'PX', ARGV[2]) end return 0";

typedef struct {
    const char *text;
    char sha[41]; /* from SCRIPT LOAD on this connection; "" means use EVAL */
} lock_script;

struct weft_lock {
    pthread_mutex_t mu;
    char *host;
    int port;
    char *user;     /* NULL: AUTH without a user name */
    char *password; /* NULL: no AUTH */
    long db;
    char where[300]; /* "host:port" for messages */
    redisContext *ctx;
    lock_script release;
    lock_script renew;
    lock_script acquire;
    lock_script scripts[WEFT_LOCK_SCRIPTS]; /* weft_lock_eval's, by text pointer */
    bool auth_refused; /* the last connection failed on the credentials of the URL */

    bool had_conn; /* a connection opened before: the next one is a reconnect */
    /* A release sent by weft_lock_release_deferred whose reply is still unread (at most
     * one): read before any other command goes out, so replies never get mixed up. */
    bool pending;
    char pending_key[160]; /* the first of its keys */
    int pending_keys;      /* how many it releases */
};

/* ---- URL parsing ---- */

/* A copy of one part of u (NULL when absent or undecodable; *rc says which). */
static char *url_part(CURLU *u, CURLUPart what, unsigned flags, CURLUcode *rc)
{
    char *v = NULL;
    *rc = curl_url_get(u, what, &v, flags);
    char *copy = *rc == CURLUE_OK ? weft_xstrdup(v) : NULL;
    curl_free(v);
    return copy;
}

/* Credentials, host, port and database of a URL libcurl parsed. */
static weft_status parse_parts(weft_lock *l, CURLU *u, weft_err *err)
{
    CURLUcode rc;
    char *extra = url_part(u, CURLUPART_QUERY, 0, &rc);
    if (!extra)
        extra = url_part(u, CURLUPART_FRAGMENT, 0, &rc);
    if (extra) {
        free(extra);
        return weft_err_set(err, WEFT_EINVAL, "redis URL: query and fragment are not supported");
    }

    l->user = url_part(u, CURLUPART_USER, CURLU_URLDECODE, &rc);
    if (rc == CURLUE_URLDECODE)
        return weft_err_set(err, WEFT_EINVAL, "redis URL: bad %%-escape in user name");
    l->password = url_part(u, CURLUPART_PASSWORD, CURLU_URLDECODE, &rc);
    if (rc == CURLUE_URLDECODE)
        return weft_err_set(err, WEFT_EINVAL, "redis URL: bad %%-escape in password");
    if (l->user && !l->password)
        return weft_err_set(err, WEFT_EINVAL,
                            "redis URL: credentials must be ':password@' or 'user:password@'");
    if (l->password && !*l->password)
        return weft_err_set(err, WEFT_EINVAL, "redis URL: empty password");
    if (l->user && !*l->user) { /* ":password@": AUTH without a user name */
        free(l->user);
        l->user = NULL;
    }

    /* an IPv6 host comes back as "[addr]"; hiredis wants the address alone */
    char *host = url_part(u, CURLUPART_HOST, 0, &rc);
    if (!host || !*host || strcmp(host, "[]") == 0) {
        free(host);
        return weft_err_set(err, WEFT_EINVAL, "redis URL: missing host");
    }
    size_t n = strlen(host);
    l->host =
        host[0] == '[' && host[n - 1] == ']' ? weft_xstrndup(host + 1, n - 2) : weft_xstrdup(host);
    free(host);

    l->port = LOCK_DEFAULT_PORT;
    char *port = url_part(u, CURLUPART_PORT, 0, &rc);
    if (port) {
        l->port = atoi(port); /* libcurl checked it is a number in 0..65535 */
        free(port);
        if (l->port < 1)
            return weft_err_set(err, WEFT_EINVAL, "redis URL: port must be 1..65535");
    }

    l->db = 0;
    char *path = url_part(u, CURLUPART_PATH, 0, &rc);
    const char *db = path && path[0] == '/' ? path + 1 : "";
    size_t digits = strspn(db, "0123456789");
    bool ok = digits == strlen(db) && digits <= 10;
    if (ok && digits > 0) {
        long long v = strtoll(db, NULL, 10);
        ok = v <= LOCK_MAX_DB;
        l->db = (long)v;
    }
    free(path);
    if (!ok)
        return weft_err_set(err, WEFT_EINVAL, "redis URL: database must be a number after the '/'");
    snprintf(l->where, sizeof l->where, strchr(l->host, ':') ? "[%s]:%d" : "%s:%d", l->host,
             l->port);
    return WEFT_OK;
}

/* Parses redis://[[user]:password@]host[:port][/db] into l with libcurl's URL API (which
 * keeps no global state: no curl_global_init needed). The message on failure never quotes
 * the URL: it may carry a password. */
static weft_status parse_url(weft_lock *l, const char *url, weft_err *err)
{
    static const char scheme[] = "redis://";
    if (!url || strncasecmp(url, scheme, sizeof scheme - 1) != 0) {
        if (url && strncasecmp(url, "rediss://", 9) == 0)
            return weft_err_set(err, WEFT_EINVAL,
                                "redis URL: rediss:// (TLS) is not supported by this build");
        return weft_err_set(err, WEFT_EINVAL, "redis URL must start with redis://");
    }
    if (url[sizeof scheme - 1] == '/') /* libcurl would read "redis:///0" as host 0.0.0.0 */
        return weft_err_set(err, WEFT_EINVAL, "redis URL: missing host");
    CURLU *u = curl_url();
    if (!u)
        abort(); /* out of memory: the one policy (alloc.h) */
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    weft_status st;
    if (rc == CURLUE_OK)
        st = parse_parts(l, u, err);
    else if (rc == CURLUE_BAD_PORT_NUMBER)
        st = weft_err_set(err, WEFT_EINVAL, "redis URL: port must be 1..65535");
    else if (rc == CURLUE_NO_HOST)
        st = weft_err_set(err, WEFT_EINVAL, "redis URL: missing host");
    else
        st = weft_err_set(err, WEFT_EINVAL, "redis URL: %s", curl_url_strerror(rc));
    curl_url_cleanup(u);
    return st;
}

/* ---- connection ---- */

static struct timeval ms_to_tv(int ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

static void drop_connection(weft_lock *l)
{
    l->pending = false; /* its release is lost with the connection: the lease ends it */
    if (l->ctx) {
        redisFree(l->ctx);
        l->ctx = NULL;
    }
}

/* Reads the reply of a deferred release, if one is due. Its outcome only matters to an
 * operator: a release that found its lease expired, or failed, is logged as the
 * synchronous release's caller would; a broken connection is dropped (the next command
 * reconnects). */
static void drain_pending(weft_lock *l)
{
    if (!l->pending || !l->ctx)
        return;
    l->pending = false;
    void *reply = NULL;
    if (redisGetReply(l->ctx, &reply) != REDIS_OK || !reply) {
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "redis %s: release of lock '%s': %s", l->where,
                 l->pending_key, l->ctx->err ? l->ctx->errstr : "no reply");
        drop_connection(l);
        return;
    }
    redisReply *r = reply;
    if (r->type == REDIS_REPLY_INTEGER && r->integer != l->pending_keys)
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "lock '%s'%s: lease expired before its release",
                 l->pending_key, l->pending_keys > 1 ? " (or another of its batch)" : "");
    else if (r->type == REDIS_REPLY_ERROR) /* NOSCRIPT after a SCRIPT FLUSH: the lease ends it */
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "redis %s: release of lock '%s' failed: %.200s",
                 l->where, l->pending_key, r->str);
    freeReplyObject(r);
}

/* Runs argv on the open connection. On a connection failure drops it and returns NULL with
 * err set; otherwise returns the reply (caller frees), which may be an error reply. */
static redisReply *run(weft_lock *l, int argc, const char **argv, const size_t *lens, weft_err *err)
{
    drain_pending(l);
    if (!l->ctx) {
        weft_err_set(err, WEFT_EREDIS, "redis %s: %s: connection lost", l->where, argv[0]);
        return NULL;
    }
    redisReply *r = redisCommandArgv(l->ctx, argc, argv, lens);
    if (!r || l->ctx->err) {
        weft_err_set(err, WEFT_EREDIS, "redis %s: %s: %s", l->where, argv[0],
                     l->ctx->err ? l->ctx->errstr : "no reply");
        if (r)
            freeReplyObject(r);
        drop_connection(l);
        return NULL;
    }
    return r;
}

/* An error reply that says the connection lacks the password the server wants: the URL
 * has none (noted in l->auth_refused). */
static bool refused_noauth(weft_lock *l, const redisReply *r, weft_err *err)
{
    if (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOAUTH", 6) != 0)
        return false;
    l->auth_refused = true;
    weft_err_set(err, WEFT_EREDIS, "redis %s wants a password and WEFT_REDIS_URL has none: %.200s",
                 l->where, r->str);
    return true;
}

/* Runs argv and expects a +OK status reply. */
static weft_status run_ok(weft_lock *l, int argc, const char **argv, weft_err *err)
{
    redisReply *r = run(l, argc, argv, NULL, err);
    if (!r)
        return WEFT_EREDIS;
    weft_status s = WEFT_OK;
    if (refused_noauth(l, r, err))
        s = WEFT_EREDIS;
    else if (r->type == REDIS_REPLY_ERROR)
        s = weft_err_set(err, WEFT_EREDIS, "redis %s: %s refused: %.200s", l->where, argv[0],
                         r->str);
    else if (r->type != REDIS_REPLY_STATUS)
        s = weft_err_set(err, WEFT_EREDIS, "redis %s: %s: unexpected reply type %d", l->where,
                         argv[0], r->type);
    freeReplyObject(r);
    return s;
}

/* Loads a script and remembers its SHA; a server that refuses SCRIPT LOAD (renamed command)
 * just gets EVAL every time, but one that wants a password refuses EVAL too. */
static weft_status load_script(weft_lock *l, lock_script *sc, weft_err *err)
{
    const char *argv[] = {"SCRIPT", "LOAD", sc->text};
    sc->sha[0] = '\0';
    redisReply *r = run(l, 3, argv, NULL, err);
    if (!r)
        return WEFT_EREDIS;
    weft_status s = refused_noauth(l, r, err) ? WEFT_EREDIS : WEFT_OK;
    if (r->type == REDIS_REPLY_STRING && r->len == 40)
        memcpy(sc->sha, r->str, 41);
    freeReplyObject(r);
    return s;
}

/* AUTH with the credentials of the URL. An error reply is about them alone (AUTH runs even
 * while Redis loads its data) and never quotes the password. */
static weft_status authenticate(weft_lock *l, weft_err *err)
{
    const char *argv[] = {"AUTH", l->user ? l->user : l->password, l->password};
    redisReply *r = run(l, l->user ? 3 : 2, argv, NULL, err);
    if (!r)
        return WEFT_EREDIS;
    weft_status s = WEFT_OK;
    if (r->type == REDIS_REPLY_ERROR) {
        l->auth_refused = true;
        s = weft_err_set(err, WEFT_EREDIS,
                         "redis %s refuses the credentials of WEFT_REDIS_URL: %.200s", l->where,
                         r->str);
    } else if (r->type != REDIS_REPLY_STATUS) {
        s = weft_err_set(err, WEFT_EREDIS, "redis %s: AUTH: unexpected reply type %d", l->where,
                         r->type);
    }
    freeReplyObject(r);
    return s;
}

/* Opens the connection when there is none: connect, timeouts, AUTH, SELECT, scripts. */
static weft_status ensure_connected(weft_lock *l, weft_err *err)
{
    drain_pending(l); /* a broken connection shows here, and is reopened at once */
    if (l->ctx)
        return WEFT_OK;
    l->ctx = redisConnectWithTimeout(l->host, l->port, ms_to_tv(LOCK_CONNECT_TIMEOUT_MS));
    if (!l->ctx || l->ctx->err) {
        weft_err_set(err, WEFT_EREDIS, "redis %s: cannot connect: %s", l->where,
                     l->ctx ? l->ctx->errstr : "out of memory");
        drop_connection(l);
        return WEFT_EREDIS;
    }
    if (redisSetTimeout(l->ctx, ms_to_tv(LOCK_COMMAND_TIMEOUT_MS)) != REDIS_OK) {
        weft_err_set(err, WEFT_EREDIS, "redis %s: cannot set the command timeout", l->where);
        drop_connection(l);
        return WEFT_EREDIS;
    }

    l->auth_refused = false;
    weft_status s = l->password ? authenticate(l, err) : WEFT_OK;
    if (s == WEFT_OK && l->db != 0) {
        char db[24];
        snprintf(db, sizeof db, "%ld", l->db);
        const char *argv[] = {"SELECT", db};
        s = run_ok(l, 2, argv, err);
    }
    if (s == WEFT_OK)
        s = load_script(l, &l->release, err);
    if (s == WEFT_OK)
        s = load_script(l, &l->renew, err);
    if (s == WEFT_OK)
        s = load_script(l, &l->acquire, err);
    if (s != WEFT_OK) {
        drop_connection(l);
        return s;
    }
    if (l->had_conn)
        weft_telemetry_reconnect("redis");
    l->had_conn = true;
    return s;
}

/* Runs a script by SHA, falling back to EVAL when the server lost it (restart, SCRIPT FLUSH,
 * failover), with nkeys of the args as KEYS and the rest as ARGV. The reply, an integer or an
 * array of integers, goes into out (up to nout; *got how many). */
static weft_status run_script(weft_lock *l, lock_script *sc, const char *what, int nkeys,
                              int nargs, const char *const *args, long long *out, int nout,
                              int *got, weft_err *err)
{
    const char *argv[3 + SCRIPT_MAX_ARGS] = {NULL, NULL, NULL};
    char numkeys[8];
    snprintf(numkeys, sizeof numkeys, "%d", nkeys);
    argv[2] = numkeys;
    for (int i = 0; i < nargs && i < SCRIPT_MAX_ARGS; i++)
        argv[3 + i] = args[i];
    redisReply *r = NULL;
    if (sc->sha[0]) {
        argv[0] = "EVALSHA";
        argv[1] = sc->sha;
        r = run(l, 3 + nargs, argv, NULL, err);
        if (!r)
            return WEFT_EREDIS;
        if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(r);
            r = NULL;
        }
    }
    if (!r) {
        argv[0] = "EVAL";
        argv[1] = sc->text;
        r = run(l, 3 + nargs, argv, NULL, err);
        if (!r)
            return WEFT_EREDIS;
    }
    weft_status s = WEFT_OK;
    int n = 0;
    if (r->type == REDIS_REPLY_INTEGER && nout > 0) {
        out[n++] = r->integer;
    } else if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements && n < nout; i++) {
            if (r->element[i]->type != REDIS_REPLY_INTEGER) {
                s = weft_err_set(err, WEFT_EREDIS, "redis %s: %s: element %zu is no integer",
                                 l->where, what, i);
                break;
            }
            out[n++] = r->element[i]->integer;
        }
    } else if (r->type == REDIS_REPLY_ERROR) {
        s = weft_err_set(err, WEFT_EREDIS, "redis %s: %s failed: %.200s", l->where, what, r->str);
    } else {
        s = weft_err_set(err, WEFT_EREDIS, "redis %s: %s: unexpected reply type %d", l->where, what,
                         r->type);
    }
    if (got)
        *got = n;
    freeReplyObject(r);
    return s;
}

/* ---- public API ---- */

/* A client with its URL parsed and no connection yet. */
static weft_lock *lock_new(void)
{
    weft_lock *l = weft_xcalloc(1, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    l->release.text = release_script;
    l->renew.text = renew_script;
    l->acquire.text = acquire_script;
    return l;
}

weft_status weft_lock_open(const char *url, weft_lock **out, weft_err *err)
{
    weft_lock *l = lock_new();
    weft_status s = parse_url(l, url, err);
    if (s != WEFT_OK) {
        weft_lock_destroy(l);
        l = NULL;
    }
    *out = l;
    return s;
}

weft_status weft_lock_eval(weft_lock *l, const char *text, const char *what, int nkeys,
                           int nargs, const char *const *args, long long *out, int nout, int *got,
                           weft_err *err)
{
    if (nkeys < 0 || nargs < nkeys || nargs > 8)
        return weft_err_set(err, WEFT_EINVAL, "redis script %s: %d keys of %d arguments (at most 8)",
                            what, nkeys, nargs);
    pthread_mutex_lock(&l->mu);
    lock_script *sc = NULL;
    for (int i = 0; i < WEFT_LOCK_SCRIPTS && !sc; i++)
        if (l->scripts[i].text == text || !l->scripts[i].text)
            sc = &l->scripts[i];
    weft_status s = ensure_connected(l, err);
    if (s == WEFT_OK && !sc)
        s = weft_err_set(err, WEFT_EINVAL, "redis script %s: more than %d scripts", what,
                         WEFT_LOCK_SCRIPTS);
    if (s == WEFT_OK && !sc->text) {
        sc->text = text;
        s = load_script(l, sc, err);
    }
    if (s == WEFT_OK)
        s = run_script(l, sc, what, nkeys, nargs, args, out, nout, got, err);
    pthread_mutex_unlock(&l->mu);
    return s;
}

weft_status weft_lock_connect(const char *url, weft_lock **out, weft_err *err)
{
    *out = NULL;
    weft_lock *l = lock_new();
    weft_status s = parse_url(l, url, err);
    if (s == WEFT_OK)
        s = ensure_connected(l, err);
    /* at start refused credentials are configuration; later they are the server's change,
     * and lock calls retry them like any outage (EINVAL there would dead-letter messages) */
    if (s == WEFT_EREDIS && l->auth_refused) {
        s = WEFT_EINVAL;
        if (err)
            err->status = s;
    }
    if (s != WEFT_OK)
        weft_lock_destroy(l);
    *out = s != WEFT_OK ? NULL : l;
    return s;
}

void weft_lock_destroy(weft_lock *l)
{
    if (!l)
        return;
    drain_pending(l);
    drop_connection(l);
    free(l->host);
    free(l->user);
    if (l->password) {
        explicit_bzero(l->password, strlen(l->password));
        free(l->password);
    }
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static weft_status check_key(const char *key, weft_err *err)
{
    if (!key || !*key)
        return weft_err_set(err, WEFT_EINVAL, "lock key must be a non-empty string");
    return WEFT_OK;
}

/* A random token (hex, NUL-terminated): what makes a lock its holder's. */
static void new_token(char token[WEFT_LOCK_TOKEN_LEN + 1])
{
    unsigned char raw[WEFT_LOCK_TOKEN_LEN / 2];
    weft_random_bytes(raw, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(token + 2 * i, 3, "%02x", raw[i]);
}

/* One SET NX PX attempt: WEFT_OK when taken, WEFT_EBUSY when someone holds it. */
static weft_status try_set(weft_lock *l, const char *key, const char *token, const char *lease,
                           weft_err *err)
{
    weft_status s = ensure_connected(l, err);
    if (s != WEFT_OK)
        return s;
    const char *argv[] = {"SET", key, token, "NX", "PX", lease};
    redisReply *r = run(l, 6, argv, NULL, err);
    if (!r)
        return WEFT_EREDIS;
    if (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0)
        s = WEFT_OK;
    else if (r->type == REDIS_REPLY_NIL)
        s = WEFT_EBUSY;
    else if (r->type == REDIS_REPLY_ERROR)
        s = weft_err_set(err, WEFT_EREDIS, "redis %s: SET of lock '%s' failed: %.200s", l->where,
                         key, r->str);
    else
        s = weft_err_set(err, WEFT_EREDIS, "redis %s: SET: unexpected reply type %d", l->where,
                         r->type);
    freeReplyObject(r);
    return s;
}

weft_status weft_lock_acquire(weft_lock *l, const char *key, int lease_ms, int wait_ms,
                              char token[WEFT_LOCK_TOKEN_LEN + 1], weft_err *err)
{
    weft_status s = check_key(key, err);
    if (s != WEFT_OK)
        return s;
    if (lease_ms <= 0)
        return weft_err_set(err, WEFT_EINVAL, "lock '%s': lease must be > 0 ms, got %d", key,
                            lease_ms);

    new_token(token);
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_ms);

    int64_t deadline = weft_clock_ms() + (wait_ms > 0 ? wait_ms : 0);
    int64_t pause = LOCK_POLL_FIRST_MS;
    for (;;) {
        pthread_mutex_lock(&l->mu);
        s = try_set(l, key, token, lease, err);
        pthread_mutex_unlock(&l->mu);
        if (s != WEFT_EBUSY)
            break;
        int64_t left = deadline - weft_clock_ms();
        if (left <= 0)
            break;
        weft_clock_sleep_ms(pause < left ? pause : left);
        pause = pause * 2 > LOCK_POLL_MAX_MS ? LOCK_POLL_MAX_MS : pause * 2;
    }
    if (s == WEFT_EBUSY)
        weft_err_set(err, WEFT_EBUSY, "lock '%s' is held by another holder (waited %d ms)", key,
                     wait_ms > 0 ? wait_ms : 0);
    if (s != WEFT_OK)
        token[0] = '\0';
    return s;
}

/* Checks the keys of a many-key call: 1 to WEFT_LOCK_MANY_MAX, none empty. */
static weft_status check_keys(const char *const *keys, int n, weft_err *err)
{
    if (n < 1 || n > WEFT_LOCK_MANY_MAX)
        return weft_err_set(err, WEFT_EINVAL, "locks: %d keys at once (1 to %d)", n,
                            WEFT_LOCK_MANY_MAX);
    for (int i = 0; i < n; i++) {
        weft_status s = check_key(keys[i], err);
        if (s != WEFT_OK)
            return s;
    }
    return WEFT_OK;
}

/* A script's arguments: the keys, then token, then lease (when not NULL). */
static int script_args(const char **args, const char *const *keys, int n, const char *token,
                       const char *lease)
{
    int a = 0;
    for (int i = 0; i < n; i++)
        args[a++] = keys[i];
    args[a++] = token ? token : "";
    if (lease)
        args[a++] = lease;
    return a;
}

/* Runs a many-key script with keys (checked first), token and a lease of lease_ms (at least
 * 1), under the client's mutex; its integer reply goes to *out. */
static weft_status leased_script(weft_lock *l, lock_script *sc, const char *what,
                                 const char *const *keys, int n, const char *token, int lease_ms,
                                 long long *out, weft_err *err)
{
    weft_status s = check_keys(keys, n, err);
    if (s != WEFT_OK)
        return s;
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_ms > 0 ? lease_ms : 1);
    const char *args[SCRIPT_MAX_ARGS];
    int nargs = script_args(args, keys, n, token, lease);
    pthread_mutex_lock(&l->mu);
    s = ensure_connected(l, err);
    if (s == WEFT_OK)
        s = run_script(l, sc, what, n, nargs, args, out, 1, NULL, err);
    pthread_mutex_unlock(&l->mu);
    return s;
}

weft_status weft_lock_acquire_many(weft_lock *l, const char *const *keys, int n, int lease_ms,
                                   char token[WEFT_LOCK_TOKEN_LEN + 1], weft_err *err)
{
    new_token(token);
    long long held = 0;
    weft_status s = leased_script(l, &l->acquire, "acquire", keys, n, token, lease_ms, &held, err);
    if (s == WEFT_OK && held >= 1 && held <= n)
        s = weft_err_set(err, WEFT_EBUSY, "lock '%s' is held by another holder",
                         keys[held - 1]);
    if (s != WEFT_OK)
        token[0] = '\0';
    return s;
}

weft_status weft_lock_release(weft_lock *l, const char *key, const char *token, weft_err *err)
{
    weft_status s = check_key(key, err);
    if (s != WEFT_OK)
        return s;
    const char *args[] = {key, token ? token : ""};
    long long deleted = 0;

    pthread_mutex_lock(&l->mu);
    s = ensure_connected(l, err);
    if (s == WEFT_OK)
        s = run_script(l, &l->release, "release", 1, 2, args, &deleted, 1, NULL, err);
    pthread_mutex_unlock(&l->mu);

    if (s == WEFT_OK && deleted != 1)
        s = weft_err_set(err, WEFT_ESTALE,
                         "lock '%s' was not released: its lease expired before the release", key);
    return s;
}

weft_status weft_lock_release_many_deferred(weft_lock *l, const char *const *keys, int n,
                                            const char *token, weft_err *err)
{
    weft_status s = check_keys(keys, n, err);
    if (s != WEFT_OK)
        return s;
    pthread_mutex_lock(&l->mu);
    drain_pending(l); /* the previous one's reply, long arrived: at most one is pending */
    s = ensure_connected(l, err);
    bool deferred = false;
    if (s == WEFT_OK && l->release.sha[0]) {
        /* EVALSHA written out now, so Redis frees the locks as soon as it reads it; only the
         * reply waits. A NOSCRIPT answer (the server lost the script) leaves the locks to
         * their lease, which drain_pending logs. */
        const char *argv[3 + SCRIPT_MAX_ARGS] = {"EVALSHA", l->release.sha};
        char numkeys[8];
        snprintf(numkeys, sizeof numkeys, "%d", n);
        argv[2] = numkeys;
        int argc = 3 + script_args(argv + 3, keys, n, token, NULL);
        int done = 0;
        if (redisAppendCommandArgv(l->ctx, argc, argv, NULL) == REDIS_OK) {
            while (!done && redisBufferWrite(l->ctx, &done) == REDIS_OK)
                ;
        }
        if (done) {
            l->pending = true;
            l->pending_keys = n;
            snprintf(l->pending_key, sizeof l->pending_key, "%s", keys[0]);
            deferred = true;
        } else {
            s = weft_err_set(err, WEFT_EREDIS, "redis %s: release: %s", l->where,
                             l->ctx->err ? l->ctx->errstr : "cannot send");
            drop_connection(l);
        }
    }
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; s == WEFT_OK && !deferred && i < n; i++) /* no script SHA: the plain way */
        s = weft_lock_release(l, keys[i], token, err);
    return s;
}

weft_status weft_lock_release_deferred(weft_lock *l, const char *key, const char *token,
                                       weft_err *err)
{
    return weft_lock_release_many_deferred(l, &key, 1, token, err);
}

weft_status weft_lock_renew_many(weft_lock *l, const char *const *keys, int n, const char *token,
                                 int lease_ms, weft_err *err)
{
    long long renewed = 0;
    weft_status s = leased_script(l, &l->renew, "renew", keys, n, token, lease_ms, &renewed, err);
    if (s == WEFT_OK && renewed != n)
        s = weft_err_set(err, WEFT_ESTALE, "lock '%s'%s was not renewed: its lease had expired",
                         keys[0], n > 1 ? " (or another of its batch)" : "");
    return s;
}

weft_status weft_lock_renew(weft_lock *l, const char *key, const char *token, int lease_ms,
                            weft_err *err)
{
    return weft_lock_renew_many(l, &key, 1, token, lease_ms, err);
}

/* The Redis lock against a real Redis at WEFT_REDIS_URL. Without one these tests fail: a
 * skipped lock test would pass a build whose locks were never exercised. */
#include "clock.h"
#include "lock.h"
#include "uuid.h"

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *redis_url(void)
{
    const char *url = getenv("WEFT_REDIS_URL");
    cr_assert(url && *url, "WEFT_REDIS_URL must name the Redis these tests run against");
    return url;
}

static weft_lock *connect_or_fail_url(const char *url)
{
    weft_lock *l = NULL;
    weft_err err = {0};
    weft_status s = weft_lock_connect(url, &l, &err);
    cr_assert_eq(s, WEFT_OK, "connect to the test Redis: %s", err.msg);
    cr_assert_not_null(l);
    return l;
}

static weft_lock *connect_or_fail(void)
{
    return connect_or_fail_url(redis_url());
}

/* A key no other test (or earlier run) uses: tests run in parallel against one Redis. */
static void unique_key(char *key, size_t n, const char *what)
{
    char uid[WEFT_UUID_LEN + 1];
    weft_uuid_new(uid);
    snprintf(key, n, "weft:test:lock:%s:%s", what, uid);
}

Test(lock, acquire_writes_a_hex_token_and_release_frees_the_key)
{
    weft_lock *a = connect_or_fail(), *b = connect_or_fail();
    char key[128], tok[WEFT_LOCK_TOKEN_LEN + 1], tok2[WEFT_LOCK_TOKEN_LEN + 1];
    unique_key(key, sizeof key, "basic");
    weft_err err = {0};

    cr_assert_eq(weft_lock_acquire(a, key, 10000, 0, tok, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(strlen(tok), WEFT_LOCK_TOKEN_LEN);
    for (int i = 0; i < WEFT_LOCK_TOKEN_LEN; i++)
        cr_assert(isxdigit((unsigned char)tok[i]), "token %s is hex", tok);

    cr_assert_eq(weft_lock_release(a, key, tok, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(weft_lock_acquire(b, key, 10000, 0, tok2, &err), WEFT_OK, "%s", err.msg);
    cr_assert_str_neq(tok, tok2, "every acquire draws a new token");
    cr_assert_eq(weft_lock_release(b, key, tok2, &err), WEFT_OK, "%s", err.msg);
    weft_lock_destroy(a);
    weft_lock_destroy(b);
}

Test(lock, second_acquire_while_held_returns_busy_after_waiting)
{
    weft_lock *a = connect_or_fail(), *b = connect_or_fail();
    char key[128], tok[WEFT_LOCK_TOKEN_LEN + 1], tok2[WEFT_LOCK_TOKEN_LEN + 1];
    unique_key(key, sizeof key, "busy");
    weft_err err = {0};

    cr_assert_eq(weft_lock_acquire(a, key, 10000, 0, tok, &err), WEFT_OK, "%s", err.msg);
    long long start = weft_clock_ms();
    cr_assert_eq(weft_lock_acquire(b, key, 10000, 200, tok2, &err), WEFT_EBUSY);
    long long waited = weft_clock_ms() - start;
    cr_assert_geq(waited, 195, "waited %lld ms of 200", waited);
    cr_assert_lt(waited, 2000, "waited %lld ms of 200", waited);
    cr_assert_not_null(strstr(err.msg, key), "%s", err.msg);

    cr_assert_eq(weft_lock_acquire(b, key, 10000, 0, tok2, &err), WEFT_EBUSY, "wait 0 tries once");
    cr_assert_eq(weft_lock_release(a, key, tok, &err), WEFT_OK, "%s", err.msg);
    weft_lock_destroy(a);
    weft_lock_destroy(b);
}

Test(lock, waiting_acquire_gets_the_lock_once_it_is_released)
{
    weft_lock *a = connect_or_fail(), *b = connect_or_fail();
    char key[128], tok[WEFT_LOCK_TOKEN_LEN + 1], tok2[WEFT_LOCK_TOKEN_LEN + 1];
    unique_key(key, sizeof key, "handover");
    weft_err err = {0};

    cr_assert_eq(weft_lock_acquire(a, key, 150, 0, tok, &err), WEFT_OK, "%s", err.msg);
    long long start = weft_clock_ms();
    cr_assert_eq(weft_lock_acquire(b, key, 10000, 3000, tok2, &err), WEFT_OK, "%s", err.msg);
    cr_assert_lt(weft_clock_ms() - start, 2000, "taken soon after the 150 ms lease ran out");
    cr_assert_eq(weft_lock_release(b, key, tok2, &err), WEFT_OK, "%s", err.msg);
    weft_lock_destroy(a);
    weft_lock_destroy(b);
}

Test(lock, release_with_a_wrong_token_is_stale_and_keeps_the_lock)
{
    weft_lock *a = connect_or_fail(), *b = connect_or_fail();
    char key[128], tok[WEFT_LOCK_TOKEN_LEN + 1], tok2[WEFT_LOCK_TOKEN_LEN + 1];
    unique_key(key, sizeof key, "wrongtoken");
    weft_err err = {0};

    cr_assert_eq(weft_lock_acquire(a, key, 10000, 0, tok, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(weft_lock_release(b, key, "0123456789abcdef0123456789abcdef", &err), WEFT_ESTALE);
    cr_assert_eq(weft_lock_acquire(b, key, 10000, 0, tok2, &err), WEFT_EBUSY,
                 "the lock is still held");
    cr_assert_eq(weft_lock_release(a, key, tok, &err), WEFT_OK, "%s", err.msg);
    weft_lock_destroy(a);
    weft_lock_destroy(b);
}

Test(lock, release_of_a_key_never_taken_is_stale)
{
    weft_lock *a = connect_or_fail();
    char key[128];
    unique_key(key, sizeof key, "nevertaken");
    weft_err err = {0};
    cr_assert_eq(weft_lock_release(a, key, "0123456789abcdef0123456789abcdef", &err), WEFT_ESTALE);
    weft_lock_destroy(a);
}

Test(lock, expired_lease_lets_another_holder_take_it)
{
    weft_lock *a = connect_or_fail(), *b = connect_or_fail();
    char key[128], tok[WEFT_LOCK_TOKEN_LEN + 1], tok2[WEFT_LOCK_TOKEN_LEN + 1];
    unique_key(key, sizeof key, "expiry");
    weft_err err = {0};

    cr_assert_eq(weft_lock_acquire(a, key, 100, 0, tok, &err), WEFT_OK, "%s", err.msg);
    weft_clock_sleep_ms(250);
    cr_assert_eq(weft_lock_acquire(b, key, 10000, 0, tok2, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(weft_lock_release(b, key, tok2, &err), WEFT_OK, "%s", err.msg);
    weft_lock_destroy(a);
    weft_lock_destroy(b);
}

Test(lock, renew_extends_only_the_holders_own_lease)
{
    weft_lock *a = connect_or_fail(), *b = connect_or_fail();
    char key[128], tok[WEFT_LOCK_TOKEN_LEN + 1], tok2[WEFT_LOCK_TOKEN_LEN + 1];
    unique_key(key, sizeof key, "renew");
    weft_err err = {0};

    cr_assert_eq(weft_lock_acquire(a, key, 300, 0, tok, &err), WEFT_OK, "%s", err.msg);
    /* renewed past its first lease: still held after it */
    for (int i = 0; i < 4; i++) {
        weft_clock_sleep_ms(150);
        cr_assert_eq(weft_lock_renew(a, key, tok, 300, &err), WEFT_OK, "%s", err.msg);
    }
    cr_assert_eq(weft_lock_acquire(b, key, 10000, 0, tok2, &err), WEFT_EBUSY);
    cr_assert_eq(weft_lock_renew(b, key, "not-the-token", 10000, &err), WEFT_ESTALE);
    /* once it lapsed, a renewal cannot take it back from the next holder */
    weft_clock_sleep_ms(450);
    cr_assert_eq(weft_lock_acquire(b, key, 10000, 0, tok2, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(weft_lock_renew(a, key, tok, 10000, &err), WEFT_ESTALE);
    cr_assert_eq(weft_lock_release(b, key, tok2, &err), WEFT_OK, "%s", err.msg);
    weft_lock_destroy(a);
    weft_lock_destroy(b);
}

/* The handoff's batches take their workflows' locks at once: all of them or none. */
Test(lock, acquire_many_takes_all_or_none_and_release_many_frees_them)
{
    weft_lock *a = connect_or_fail(), *b = connect_or_fail();
    char k[4][128], tok[WEFT_LOCK_TOKEN_LEN + 1], tok2[WEFT_LOCK_TOKEN_LEN + 1];
    for (int i = 0; i < 4; i++)
        unique_key(k[i], sizeof k[i], "many");
    const char *first[] = {k[0], k[1], k[2]};
    const char *overlap[] = {k[3], k[2]}; /* k[3] free, k[2] held by a */
    weft_err err = {0};

    cr_assert_eq(weft_lock_acquire_many(a, first, 3, 10000, tok, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(strlen(tok), WEFT_LOCK_TOKEN_LEN);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(weft_lock_acquire(b, k[i], 10000, 0, tok2, &err), WEFT_EBUSY,
                     "key %d of the batch is held", i);

    cr_assert_eq(weft_lock_acquire_many(b, overlap, 2, 10000, tok2, &err), WEFT_EBUSY);
    cr_assert(strstr(err.msg, k[2]), "the error names the held key: %s", err.msg);
    cr_assert_eq(tok2[0], '\0');
    /* none taken: the free key of the refused batch is still free */
    cr_assert_eq(weft_lock_acquire(b, k[3], 10000, 0, tok2, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(weft_lock_release(b, k[3], tok2, &err), WEFT_OK, "%s", err.msg);

    cr_assert_eq(weft_lock_renew_many(a, first, 3, tok, 10000, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(weft_lock_renew_many(b, first, 3, "not-the-token", 10000, &err), WEFT_ESTALE);

    cr_assert_eq(weft_lock_release_many_deferred(a, first, 3, tok, &err), WEFT_OK, "%s",
                 err.msg);
    /* the next command on a reads the deferred reply first; b sees the keys free */
    cr_assert_eq(weft_lock_acquire(a, k[3], 10000, 0, tok2, &err), WEFT_OK, "%s", err.msg);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(weft_lock_acquire(b, k[i], 10000, 0, tok2, &err), WEFT_OK, "key %d: %s", i,
                     err.msg);
        cr_assert_eq(weft_lock_release(b, k[i], tok2, &err), WEFT_OK, "%s", err.msg);
    }
    cr_assert_eq(weft_lock_acquire_many(a, first, 0, 10000, tok, &err), WEFT_EINVAL);
    weft_lock_destroy(a);
    weft_lock_destroy(b);
}

Test(lock, release_after_expiry_does_not_delete_the_next_holders_lock)
{
    weft_lock *a = connect_or_fail(), *b = connect_or_fail(), *c = connect_or_fail();
    char key[128], tok_a[WEFT_LOCK_TOKEN_LEN + 1], tok_b[WEFT_LOCK_TOKEN_LEN + 1],
        tok_c[WEFT_LOCK_TOKEN_LEN + 1];
    unique_key(key, sizeof key, "latefree");
    weft_err err = {0};

    cr_assert_eq(weft_lock_acquire(a, key, 100, 0, tok_a, &err), WEFT_OK, "%s", err.msg);
    weft_clock_sleep_ms(250);
    cr_assert_eq(weft_lock_acquire(b, key, 10000, 0, tok_b, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(weft_lock_release(a, key, tok_a, &err), WEFT_ESTALE);
    cr_assert_eq(weft_lock_acquire(c, key, 10000, 0, tok_c, &err), WEFT_EBUSY,
                 "the second holder still has the lock");
    cr_assert_eq(weft_lock_release(b, key, tok_b, &err), WEFT_OK, "%s", err.msg);
    weft_lock_destroy(a);
    weft_lock_destroy(b);
    weft_lock_destroy(c);
}

/* Several threads, each with its own client, bump a counter inside the lock. */
typedef struct {
    const char *key;
    int inside, max_inside, done;
    pthread_mutex_t mu;
} contention;

static void *contend(void *arg)
{
    contention *c = arg;
    weft_lock *l = NULL;
    weft_err err = {0};
    if (weft_lock_connect(getenv("WEFT_REDIS_URL"), &l, &err) != WEFT_OK)
        return NULL;
    for (int i = 0; i < 15; i++) {
        char tok[WEFT_LOCK_TOKEN_LEN + 1];
        if (weft_lock_acquire(l, c->key, 10000, 10000, tok, &err) != WEFT_OK)
            break;
        pthread_mutex_lock(&c->mu);
        int now = ++c->inside;
        if (now > c->max_inside)
            c->max_inside = now;
        pthread_mutex_unlock(&c->mu);
        weft_clock_sleep_ms(1);
        pthread_mutex_lock(&c->mu);
        c->inside--;
        c->done++;
        pthread_mutex_unlock(&c->mu);
        if (weft_lock_release(l, c->key, tok, &err) != WEFT_OK)
            break;
    }
    weft_lock_destroy(l);
    return NULL;
}

Test(lock, contending_holders_never_overlap)
{
    redis_url();
    char key[128];
    unique_key(key, sizeof key, "contend");
    contention c = {.key = key};
    pthread_mutex_init(&c.mu, NULL);
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&threads[i], NULL, contend, &c), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    cr_assert_eq(c.done, 60, "every thread got the lock every time (%d of 60)", c.done);
    cr_assert_eq(c.max_inside, 1, "one holder at a time");
    pthread_mutex_destroy(&c.mu);
}

/* Another thread waits on the same client while the main thread still holds the lock. */
typedef struct {
    weft_lock *l;
    const char *key;
    weft_status got;
    long long waited_ms;
} shared_waiter;

static void *wait_for_lock(void *arg)
{
    shared_waiter *w = arg;
    char tok[WEFT_LOCK_TOKEN_LEN + 1];
    weft_err err = {0};
    long long start = weft_clock_ms();
    w->got = weft_lock_acquire(w->l, w->key, 10000, 5000, tok, &err);
    w->waited_ms = weft_clock_ms() - start;
    if (w->got == WEFT_OK)
        weft_lock_release(w->l, w->key, tok, &err);
    return NULL;
}

Test(lock, a_waiting_acquire_does_not_block_a_release_on_the_same_client)
{
    weft_lock *shared = connect_or_fail();
    char key[128], tok[WEFT_LOCK_TOKEN_LEN + 1];
    unique_key(key, sizeof key, "shared");
    weft_err err = {0};
    cr_assert_eq(weft_lock_acquire(shared, key, 10000, 0, tok, &err), WEFT_OK, "%s", err.msg);

    shared_waiter w = {shared, key, WEFT_EINVAL, 0};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, wait_for_lock, &w), 0);
    weft_clock_sleep_ms(100);
    cr_assert_eq(weft_lock_release(shared, key, tok, &err), WEFT_OK, "%s", err.msg);
    pthread_join(t, NULL);
    cr_assert_eq(w.got, WEFT_OK, "the waiter got the lock");
    cr_assert_lt(w.waited_ms, 2000, "soon after the release (%lld ms)", w.waited_ms);
    weft_lock_destroy(shared);
}

Test(lock, malformed_urls_are_einval)
{
    const struct {
        const char *url, *says;
    } bad[] = {
        {"http://127.0.0.1:6379", "redis://"},
        {"redis://", "host"},
        {"redis:///0", "host"},
        {"redis://host:notaport", "port"},
        {"redis://:s3cr3t@host:70000", "port"},
        {"redis://host:0", "port"},
        {"redis://host/abc", "database"},
        {"redis://host/1/2", "database"},
        {"redis://host/2147483648", "database"},
        {"redis://s3cr3t@host", "credentials"},
        {"redis://:@host", "empty password"},
        {"redis://:s3cr3t%00@host", "password"},
        {"redis://:s3cr3t@host/0?db=1", "query"},
        {"redis://host/0#x", "fragment"},
        {"rediss://:s3cr3t@host:6379", "TLS"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weft_lock *l = (weft_lock *)1;
        weft_err err = {0};
        cr_assert_eq(weft_lock_connect(bad[i].url, &l, &err), WEFT_EINVAL, "%s", bad[i].url);
        cr_assert_null(l, "%s", bad[i].url);
        cr_assert_not_null(strstr(err.msg, bad[i].says), "%s: %s", bad[i].url, err.msg);
        cr_assert_null(strstr(err.msg, "s3cr3t"), "%s: %s", bad[i].url, err.msg);
    }
}

Test(lock, unreachable_redis_is_eredis_naming_host_port_but_not_the_password)
{
    const struct {
        const char *url, *where;
    } urls[] = {
        {"redis://:s3cr3t-pw@127.0.0.1:1/0", "127.0.0.1:1"},
        {"redis://weft:s3cr3t%40pw@127.0.0.1:1", "127.0.0.1:1"},
        {"redis://:s3cr3t@[::1]:1/3", "[::1]:1"},
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        weft_lock *l = NULL;
        weft_err err = {0};
        cr_assert_eq(weft_lock_connect(urls[i].url, &l, &err), WEFT_EREDIS, "%s", urls[i].url);
        cr_assert_null(l);
        cr_assert_not_null(strstr(err.msg, urls[i].where), "%s", err.msg);
        cr_assert_null(strstr(err.msg, "s3cr3t"), "%s", err.msg);
    }
}

/* WEFT_REDIS_URL with its database replaced and, unless cred is NULL, its credentials
 * ("user:password@" or ""). */
static void url_variant(char *out, size_t n, const char *cred, const char *db)
{
    const char *auth = strstr(redis_url(), "://");
    cr_assert_not_null(auth, "WEFT_REDIS_URL is a redis:// URL");
    auth += 3;
    const char *host = auth, *end = auth + strcspn(auth, "/");
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            host = p + 1;
    if (!cred)
        snprintf(out, n, "redis://%.*s/%s", (int)(end - auth), auth, db);
    else
        snprintf(out, n, "redis://%s%.*s/%s", cred, (int)(end - host), host, db);
}

Test(lock, refused_select_is_eredis)
{
    char url[512];
    weft_lock *l = NULL;
    weft_err err = {0};
    url_variant(url, sizeof url, NULL, "2000000");
    cr_assert_eq(weft_lock_connect(url, &l, &err), WEFT_EREDIS);
    cr_assert_null(l);
    cr_assert_not_null(strstr(err.msg, "SELECT"), "%s", err.msg);
}

Test(lock, refused_auth_at_connect_is_einval_without_the_password)
{
    char url[512];
    weft_lock *l = NULL;
    weft_err err = {0};
    url_variant(url, sizeof url, "weft-no-such-user:wr0ng-s3cret@", "0");
    cr_assert_eq(weft_lock_connect(url, &l, &err), WEFT_EINVAL, "%s", err.msg);
    cr_assert_eq(err.status, WEFT_EINVAL);
    cr_assert_null(l);
    cr_assert_null(strstr(err.msg, "wr0ng-s3cret"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "refuses the credentials of WEFT_REDIS_URL"), "%s", err.msg);
}

/* Decodes the %XX escapes of s[0..n) into out (NUL-terminated). */
static void percent_decode(char *out, size_t size, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        unsigned v;
        if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1) {
            out[o++] = (char)v;
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

/* A raw connection to the test Redis, for what the lock API does not offer (ACL, CLIENT
 * KILL). Takes host, port and credentials from WEFT_REDIS_URL. */
static redisContext *admin_connect(void)
{
    char url[512];
    url_variant(url, sizeof url, NULL, "0");
    const char *auth = url + strlen("redis://");
    const char *end = strrchr(url, '/');
    const char *host = auth, *at = NULL;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            at = p, host = p + 1;
    const char *host_end, *colon;
    if (*host == '[') { /* [IPv6] */
        host_end = memchr(host, ']', (size_t)(end - host));
        cr_assert_not_null(host_end);
        colon = host_end[1] == ':' ? host_end + 1 : NULL;
        host++;
    } else {
        colon = memchr(host, ':', (size_t)(end - host));
        host_end = colon ? colon : end;
    }
    char hostname[256];
    snprintf(hostname, sizeof hostname, "%.*s", (int)(host_end - host), host);
    int port = colon ? atoi(colon + 1) : 6379;
    redisContext *c = redisConnect(hostname, port);
    cr_assert(c && !c->err, "admin connection to %s:%d", hostname, port);
    if (at) {
        const char *sep = memchr(auth, ':', (size_t)(at - auth));
        cr_assert_not_null(sep);
        char user[256], pass[256];
        percent_decode(user, sizeof user, auth, (size_t)(sep - auth));
        percent_decode(pass, sizeof pass, sep + 1, (size_t)(at - sep - 1));
        redisReply *r =
            *user ? redisCommand(c, "AUTH %s %s", user, pass) : redisCommand(c, "AUTH %s", pass);
        cr_assert(r && r->type == REDIS_REPLY_STATUS, "admin AUTH");
        freeReplyObject(r);
    }
    return c;
}

Test(lock, lost_connection_is_eredis_then_the_next_call_reconnects)
{
    redisContext *admin = admin_connect();
    char user[64], cred[128], url[512], key[128], tok[WEFT_LOCK_TOKEN_LEN + 1];
    char uid[WEFT_UUID_LEN + 1];
    weft_uuid_new(uid);
    snprintf(user, sizeof user, "weft-test-%s", uid);
    /* a user of our own, so CLIENT KILL USER cuts only this test's connection */
    redisReply *r = redisCommand(admin, "ACL SETUSER %s on >pw ~* +@all", user);
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "ACL SETUSER (needs Redis >= 6): %s",
              r && r->str ? r->str : "no reply");
    freeReplyObject(r);

    snprintf(cred, sizeof cred, "%s:pw@", user);
    url_variant(url, sizeof url, cred, "0");
    weft_lock *l = connect_or_fail_url(url);
    unique_key(key, sizeof key, "reconnect");
    weft_err err = {0};
    cr_assert_eq(weft_lock_acquire(l, key, 10000, 0, tok, &err), WEFT_OK, "%s", err.msg);

    r = redisCommand(admin, "CLIENT KILL USER %s", user);
    cr_assert(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1, "killed one client");
    freeReplyObject(r);

    cr_assert_eq(weft_lock_release(l, key, tok, &err), WEFT_EREDIS);
    cr_assert_null(strstr(err.msg, ":pw"), "%s", err.msg);
    cr_assert_eq(weft_lock_release(l, key, tok, &err), WEFT_OK, "reconnected: %s", err.msg);
    weft_lock_destroy(l);

    r = redisCommand(admin, "ACL DELUSER %s", user);
    freeReplyObject(r);
    redisFree(admin);
}

Test(lock, credentials_refused_after_connecting_are_eredis_like_an_outage)
{
    redisContext *admin = admin_connect();
    char user[64], cred[128], url[512], key[128], tok[WEFT_LOCK_TOKEN_LEN + 1];
    char uid[WEFT_UUID_LEN + 1];
    weft_uuid_new(uid);
    snprintf(user, sizeof user, "weft-test-%s", uid);
    redisReply *r = redisCommand(admin, "ACL SETUSER %s on >pw ~* +@all", user);
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "ACL SETUSER (needs Redis >= 6): %s",
              r && r->str ? r->str : "no reply");
    freeReplyObject(r);
    snprintf(cred, sizeof cred, "%s:pw@", user);
    url_variant(url, sizeof url, cred, "0");
    weft_lock *l = connect_or_fail_url(url);

    /* the password changes on the server and the connection drops: the client started
     * with a configuration that worked, so this is an outage it waits out, and a lock call
     * that met it must not read as a message that can never be processed */
    r = redisCommand(admin, "ACL SETUSER %s resetpass >other", user);
    freeReplyObject(r);
    r = redisCommand(admin, "CLIENT KILL USER %s", user);
    freeReplyObject(r);
    unique_key(key, sizeof key, "rotated");
    weft_err err = {0};
    cr_assert_eq(weft_lock_acquire(l, key, 10000, 0, tok, &err), WEFT_EREDIS, "%s", err.msg);
    cr_assert_eq(weft_lock_acquire(l, key, 10000, 0, tok, &err), WEFT_EREDIS, "%s", err.msg);

    r = redisCommand(admin, "ACL SETUSER %s resetpass >pw", user);
    freeReplyObject(r);
    cr_assert_eq(weft_lock_acquire(l, key, 10000, 0, tok, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(weft_lock_release(l, key, tok, &err), WEFT_OK, "%s", err.msg);
    weft_lock_destroy(l);
    r = redisCommand(admin, "ACL DELUSER %s", user);
    freeReplyObject(r);
    redisFree(admin);
}

Test(lock, release_works_after_the_server_forgot_its_scripts)
{
    redisContext *admin = admin_connect();
    weft_lock *l = connect_or_fail();
    char key[128], tok[WEFT_LOCK_TOKEN_LEN + 1];
    unique_key(key, sizeof key, "noscript");
    weft_err err = {0};
    cr_assert_eq(weft_lock_acquire(l, key, 10000, 0, tok, &err), WEFT_OK, "%s", err.msg);

    redisReply *r = redisCommand(admin, "SCRIPT FLUSH"); /* as a restart or failover would */
    cr_assert(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    cr_assert_eq(weft_lock_release(l, key, tok, &err), WEFT_OK, "%s", err.msg);

    cr_assert_eq(weft_lock_acquire(l, key, 10000, 0, tok, &err), WEFT_OK, "released: %s", err.msg);
    cr_assert_eq(weft_lock_release(l, key, tok, &err), WEFT_OK, "%s", err.msg);
    weft_lock_destroy(l);
    redisFree(admin);
}

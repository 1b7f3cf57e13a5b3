/* Locks in Redis (per workflow; the sweeper's leadership): SET key token NX PX lease,
 * renewed and released by compare-and-set scripts, so a holder whose lease expired never
 * extends or frees someone else's lock.
 *
 * The lock is for efficiency, not for safety (DESIGN §5.5): it keeps two handoffs of one
 * workflow from doing the same work at once. A holder renews its lease while it waits (a
 * handoff waiting for publisher confirms, which a resource alarm can hold up for minutes);
 * one that cannot (stopped, cut off from Redis) outlives it, a second holder may then run
 * beside it, and the row locks and compare-and-set updates in Postgres decide: every
 * transition happens once, the loser's is a no-op, and a dispatch sent twice is a
 * duplicate message the activity claim drops. The lease only bounds how long a dead holder
 * delays the next one. */
#ifndef WEFT_LOCK_H
#define WEFT_LOCK_H

#include "status.h"

#define WEFT_LOCK_TOKEN_LEN 32

typedef struct weft_lock weft_lock;

/* Connects to url ("redis://[[user]:password@]host[:port][/db]": port 6379 and db 0 when
 * left out, an IPv6 host in brackets, reserved characters of the user name and password
 * %-escaped, an '@' as %40; no query, no fragment, no rediss://). *out is a new client the
 * caller frees with weft_lock_destroy. The URL (borrowed) may carry a password; it never
 * reaches a log line or an error. Returns WEFT_EINVAL for a malformed URL, its message
 * naming what is wrong; also WEFT_EINVAL when Redis refuses the credentials (a wrong password,
 * or none given where one is required), which no retry fixes; WEFT_EREDIS when Redis cannot
 * be reached or refuses SELECT. A later reconnect of the client that meets refused
 * credentials is WEFT_EREDIS, like any outage. */
weft_status weft_lock_connect(const char *url, weft_lock **out, weft_err *err);

/* Accepts NULL. */
void weft_lock_destroy(weft_lock *l);

/* Takes the lock named key (borrowed) for lease_ms, waiting up to wait_ms (polling with a
 * short growing sleep) while another holder has it. On WEFT_OK writes the random token
 * (hex, NUL-terminated) to token. Returns WEFT_EBUSY when wait_ms passed, WEFT_EREDIS on a
 * connection failure (the client reconnects on the next call). */
weft_status weft_lock_acquire(weft_lock *l, const char *key, int lease_ms, int wait_ms,
                              char token[WEFT_LOCK_TOKEN_LEN + 1], weft_err *err);

/* Deletes key only when it still holds token: WEFT_OK, WEFT_ESTALE when it did not,
 * WEFT_EREDIS on a connection failure. */
weft_status weft_lock_release(weft_lock *l, const char *key, const char *token, weft_err *err);

/* Releases as weft_lock_release does, but without waiting for Redis's answer: the command
 * is written out at once (Redis frees the lock as soon as it reads it) and its reply is read
 * before the client's next command, or by weft_lock_destroy. For a caller on a serial path
 * (the handoff) that takes another lock next: one round trip per lock instead of two. A
 * release that finds its lease expired is logged then, not returned. WEFT_OK when sent,
 * WEFT_EREDIS on a connection failure. */
weft_status weft_lock_release_deferred(weft_lock *l, const char *key, const char *token,
                                       weft_err *err);

/* The most keys one of the _many calls takes. */
#define WEFT_LOCK_MANY_MAX 64

/* Takes the n locks keys[0..n) (borrowed, 1 <= n <= WEFT_LOCK_MANY_MAX, distinct) at once
 * for lease_ms, under one token written to token, without waiting: all of them, or none
 * and WEFT_EBUSY naming the first one another holder has. One round trip (a script). For a
 * caller that handles several workflows together (the handoff's batches). WEFT_EREDIS on a
 * connection failure. */
weft_status weft_lock_acquire_many(weft_lock *l, const char *const *keys, int n, int lease_ms,
                                   char token[WEFT_LOCK_TOKEN_LEN + 1], weft_err *err);

/* weft_lock_release_deferred of the n locks keys (borrowed) that token took, in one command. */
weft_status weft_lock_release_many_deferred(weft_lock *l, const char *const *keys, int n,
                                            const char *token, weft_err *err);

/* weft_lock_renew of the n locks keys (borrowed) that token took, in one command: WEFT_ESTALE
 * when any of them was no longer held. */
weft_status weft_lock_renew_many(weft_lock *l, const char *const *keys, int n, const char *token,
                                 int lease_ms, weft_err *err);

/* Extends key's lease to lease_ms from now, only when it still holds token (borrowed):
 * WEFT_OK, WEFT_ESTALE when it no longer did (the lease expired; someone may hold it now),
 * WEFT_EREDIS on a connection failure. */
weft_status weft_lock_renew(weft_lock *l, const char *key, const char *token, int lease_ms,
                            weft_err *err);

/* Opens a client for url (checked as weft_lock_connect does) without connecting: the first
 * call connects, so a process that may never need Redis starts without it. *out is new (free
 * with weft_lock_destroy). WEFT_EINVAL for a malformed URL. */
weft_status weft_lock_open(const char *url, weft_lock **out, weft_err *err);

/* Runs the Lua script text (borrowed; a static string: the client remembers its SHA by the
 * pointer, for up to WEFT_LOCK_SCRIPTS scripts, and sends EVALSHA after the first call) with
 * nkeys KEYS and nargs ARGV from args (borrowed, nkeys + nargs <= 8), what names it in
 * errors. The reply, an integer or an array of integers, goes into out (up to nout values;
 * *got: how many came, may be NULL). WEFT_EREDIS on a connection failure or an error reply. */
#define WEFT_LOCK_SCRIPTS 8
weft_status weft_lock_eval(weft_lock *l, const char *text, const char *what, int nkeys,
                           int nargs, const char *const *args, long long *out, int nout, int *got,
                           weft_err *err);

#endif

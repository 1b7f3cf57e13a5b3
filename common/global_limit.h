/* Limits across all workers (DESIGN §10): a task type's global concurrency (`weft limit set
 * TASK N`), its rate of starts (`--rate 10/s`), and an activity's concurrency key
 * (`"concurrency": {"key": "customer", "limit": 1}`), enforced in Redis at the start of each
 * attempt, after its claim.
 *
 * Semaphores: a limited type, and each (type, key, value) of a concurrency key, is a sorted
 * set of holder tokens ("ACTIVITY_UID/ATTEMPT") scored by when their lease ends. Taking a
 * place drops the expired holders, counts the rest and adds the token only below the limit,
 * in one script; the running attempt renews its lease with its Postgres lease
 * (engine.c watch_attempt) and gives the place back when it ends. A worker killed while
 * holding places frees them when their leases end. The same token taking a place twice (a
 * redelivery of its message) holds one place.
 *
 * Rate: a bucket per type holding the time its next start may happen (a token bucket of one
 * token, refilled every interval of the rate). An attempt whose turn is later reserves that
 * turn (the bucket moves on by one interval) and waits until it through the delay queues;
 * coming back, it takes its reservation instead of a new turn, so waiting attempts start one
 * interval apart without racing each other. The rate is taken last, once every semaphore
 * let the attempt in, so a turn is spent only by an attempt that runs.
 *
 * Outcomes of weft_global_limits_enter: ENTERED (the hold lists the places to renew and give
 * back), WAIT (nothing held: the attempt goes round for *wait_ms, not counted as an
 * attempt; why says which limit), REFUSED (the concurrency key's value is missing or not a
 * scalar: a PERMANENT failure of the attempt, why says so). A Redis failure is an
 * infrastructure status: nothing is held, and the caller gives the claim back unacked.
 *
 * The limits table is read from Postgres at most every WEFT_GLOBAL_LIMITS_CACHE_MS per worker
 * process, so a change reaches every worker within about a second without a restart, and an
 * unlimited type costs one lookup in that cache. */
#ifndef WEFT_GLOBAL_LIMIT_H
#define WEFT_GLOBAL_LIMIT_H

#include "lock.h"
#include "status.h"
#include "store.h"
#include "uuid.h"

#include <jansson.h>
#include <stddef.h>

#define WEFT_GLOBAL_LIMITS_CACHE_MS 1000
/* How long an attempt a semaphore refused waits before it comes back. */
#define WEFT_LIMIT_RETRY_MS 500
/* How early before its rate turn an attempt back from the delay queue may take it: none, so
 * that no two starts are ever closer than the rate's interval (one back too early goes round
 * once more, a little late: a rate is a ceiling). */
#define WEFT_RATE_EARLY_MS 0
/* The longest concurrency key value (its text) a semaphore is named by. */
#define WEFT_CONCURRENCY_VALUE_MAX 256

typedef struct weft_global_limits weft_global_limits;

/* The limits cache of one worker process, shared by its threads (each reads through its own
 * store). Free with weft_global_limits_destroy (accepts NULL). */
weft_global_limits *weft_global_limits_create(void);
void weft_global_limits_destroy(weft_global_limits *g);

/* One attempt asking to start; all borrowed. */
typedef struct {
    const char *workflow_uid, *activity_uid, *activity; /* activity: its name, for messages */
    int attempt;
    const char *task;
    const json_t *concurrency; /* {"key": K, "limit": N} or NULL: no concurrency key */
    const json_t *input;       /* the merged input, where the key's value is */
    int lease_ms;              /* how long a place lasts unrenewed */
} weft_limit_request;

/* The places an attempt holds (owned strings; zeroed when none). */
typedef struct {
    char *keys[2];
    int n;
    char token[WEFT_UUID_LEN + 16];
} weft_limit_hold;

typedef enum { WEFT_LIMIT_ENTERED, WEFT_LIMIT_WAIT, WEFT_LIMIT_REFUSED } weft_limit_outcome;

/* Takes what rq's attempt needs to start (see above): g may be NULL (no global limits),
 * l NULL (no Redis: the key's value is still checked, nothing is enforced). *hold is set in
 * every case (empty unless ENTERED); why (why_len bytes) names the limit for WAIT and the
 * error for REFUSED. WEFT_EREDIS, or WEFT_EDB when the limits were never read: nothing held. */
weft_status weft_global_limits_enter(weft_global_limits *g, weft_store *s, weft_lock *l,
                                     const weft_limit_request *rq, weft_limit_hold *hold,
                                     weft_limit_outcome *outcome, int *wait_ms, char *why,
                                     size_t why_len, weft_err *err);

/* Extends every place of hold to lease_ms from now. WEFT_ESTALE when one had expired and
 * was taken back (the attempt may now run beyond its limit), WEFT_EREDIS on a failure. */
weft_status weft_limit_hold_renew(weft_lock *l, weft_limit_hold *hold, int lease_ms,
                                  weft_err *err);

/* Gives back every place of hold and empties it (a failure is logged: the lease frees the
 * place). Accepts an empty hold. */
void weft_limit_hold_release(weft_lock *l, weft_limit_hold *hold, const char *workflow_uid,
                             const char *activity_uid);

#endif

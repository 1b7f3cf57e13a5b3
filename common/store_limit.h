/* The store's global limits (DESIGN §10, `weft limit`): one row per limited task type, with
 * at most `concurrency` attempts running at once across all workers and/or a rate of starts;
 * and the reason a queued attempt waits, which a limit writes when it sends the attempt round
 * and the next claim clears.
 *
 * Who writes what: the CLI sets and clears limits; workers read them (global_limit.h caches
 * them) and write the wait reasons. Redis enforces them; Postgres only holds them. */
#ifndef WEFT_STORE_LIMIT_H
#define WEFT_STORE_LIMIT_H

#include "store.h"

#include <jansson.h>

/* Limits task (borrowed) to concurrency running attempts (0: leave as it is) and/or per_s
 * starts per second written rate_text (borrowed; per_s 0 and rate_text NULL: leave as it
 * is; the caller gives at least one); a task with no row gets one. */
weft_status weft_store_limit_set(weft_store *s, const char *task, int concurrency, double per_s,
                                 const char *rate_text, weft_err *err);

/* Removes task's limits (borrowed); *found says whether it had any. */
weft_status weft_store_limit_clear(weft_store *s, const char *task, bool *found, weft_err *err);

/* Every limit as a new JSON array (*out) of {task, concurrency, rate, rate_per_s, updated_at},
 * by task; concurrency and rate are null where not limited. */
weft_status weft_store_limits(weft_store *s, json_t **out, weft_err *err);

/* Records why queued attempt (uid, attempt) waits (reason borrowed). WEFT_ESTALE when the
 * attempt is no longer queued (claimed meanwhile: nothing to say). */
weft_status weft_store_limit_wait(weft_store *s, const char *uid, int attempt, const char *reason,
                                  weft_err *err);

#endif

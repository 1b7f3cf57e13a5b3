/* Postgres: the durable truth (DESIGN §5).
 *
 * The model. A weft_store is one connection, used by one thread. Postgres holds every
 * workflow and activity with its status (state.h) and attempt; every state change is a
 * compare-and-set on status and attempt, so a duplicate or stale message changes nothing.
 * All SQL lives in common/sql/ (embedded at build time): numbered migrations, applied at
 * connect time under an advisory lock, and named statements, prepared under their names
 * with $n parameters. Errors name the statement ("postgres: statement 'claim': ...").
 *
 * The connection heals itself: after a failure, or after reading a result big enough to
 * have grown libpq's buffers, the next call opens a new one (and prepares again).
 *
 * Ownership: the store owns its connection; results handed out (dispatch lists, claims,
 * workflow summaries, JSON) are new and the caller's, freed by their _finish function.
 *
 * The API by concept: store_workflow.h (create, resume, summary, wait for completion),
 * store_activity.h (claim, complete, fail, release, handoff, listing), store_sweep.h
 * (stuck work), store_worker.h (the worker registry), store_definition.h (named
 * definitions), store_compose.h (maps and child workflows). Including store.h gives all of them. */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include "state.h"
#include "status.h"
#include "uuid.h"
#include "weft_limits.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct weft_store weft_store;

/* One message to send after a commit: run attempt `attempt` of activity `uid`, on the
 * activity's routing queue (queues.h); or, when handoff is set, the handoff of that attempt
 * (a parent activity that a child workflow settled), in workflow workflow_uid. */
typedef struct {
    char uid[WEFT_UUID_LEN + 1];
    int attempt;
    int priority;
    char queue[WEFT_MAX_NAME_LEN + 1];
    char workflow_uid[WEFT_UUID_LEN + 1]; /* set by weft_store_sweep, and for a handoff */
    bool handoff;
} weft_dispatch;

/* A growable list of dispatches, zero-initialised by the caller; store calls append to
 * it. weft_dispatch_list_finish frees its array. */
typedef struct {
    weft_dispatch *items; /* owned */
    size_t n, cap;
} weft_dispatch_list;
void weft_dispatch_list_finish(weft_dispatch_list *l);

/* Connects to url (borrowed; a libpq URI or key=value string), applies pending migrations
 * under an advisory lock and prepares the statements. *out is new; free with
 * weft_store_destroy (accepts NULL). WEFT_EDB when Postgres is unreachable; WEFT_EINVAL
 * when TLS refuses the URL's set-up (a certificate that does not verify against
 * sslrootcert or is for another host, an unreadable sslrootcert, a server without TLS under
 * sslmode=require or stricter). The connection is re-opened by the next call after a
 * failure, and a TLS refusal then is WEFT_EDB like any outage. */
weft_status weft_store_connect(const char *url, weft_store **out, weft_err *err);
void weft_store_destroy(weft_store *s);

#include "store_activity.h"
#include "store_compose.h"
#include "store_definition.h"
#include "store_sweep.h"
#include "store_worker.h"
#include "store_workflow.h"

#endif

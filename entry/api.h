/* weft-entry's HTTP API and dashboard (DESIGN §14), served with --http HOST:PORT.
 *
 *   POST /v1/workflows              an entry message (create) → 202 {"workflow_uid"}
 *   GET  /v1/workflows?status=&name=&limit=   the newest first → 200 {"workflows": [...]}
 *   GET  /v1/workflows/UID          as `weft status --json`, activities with depends_on
 *   POST /v1/workflows/UID/cancel   body {"reason"?} → 202
 *   POST /v1/workflows/UID/resume   → 202
 *   GET  /, /dashboard/FILE         the dashboard (static, embedded at build time)
 *
 * The model. Every /v1 request carries `Authorization: Bearer TOKEN`, the token read at
 * start from WEFT_API_TOKEN_FILE and compared in constant time; else 401 with
 * WWW-Authenticate. Writes take the one path other services take: the entry message is
 * published to workflow_entry with a publisher confirm, and weft-entry's consumer (this
 * process's or another's) does the work, so 202 means "durably queued", not "done". A
 * definition is validated first, as the consumer would (with this process's task types),
 * so a bad one is a 400 naming what is wrong instead of a dead letter. Reads go to Postgres.
 *
 * Threads: requests run in libmicrohttpd's threads, one per connection. They share a pool
 * of at most WEFT_API_STORE_POOL Postgres connections (a libpq connection serves one
 * thread at a time) and one broker connection for publishing, taken under a mutex.
 *
 * Errors are JSON {"error": "..."}: 400 bad JSON or definition, 401, 404 unknown path or
 * workflow, 405 wrong method (with Allow), 413 body over WEFT_MAX_MESSAGE_BYTES, 503
 * Postgres or the broker unreachable. */
#ifndef WEFT_API_H
#define WEFT_API_H

#include "config.h"
#include "task.h"

#define WEFT_API_STORE_POOL 4
#define WEFT_API_DEFAULT_LIMIT 50
#define WEFT_API_MAX_LIMIT 1000

typedef struct weft_api weft_api;

/* Starts serving on cfg->http_addr (cfg borrowed for the call: what is needed is copied);
 * tasks (borrowed) must outlive the API. *out is new; stop with weft_api_stop. WEFT_EINVAL
 * when WEFT_API_TOKEN_FILE is unset, unreadable or empty (naming it) or the address cannot
 * be bound. */
weft_status weft_api_start(const weft_config *cfg, const weft_task_registry *tasks, weft_api **out,
                           weft_err *err);

/* Stops taking requests, waits for the running ones, closes its connections; accepts NULL. */
void weft_api_stop(weft_api *a);

#endif

/* The store's insides, shared by store*.c and no one else: the connection and the
 * statement runner. A statement is named by its weft_sql_id (common/sql/NAME.sql). */
#ifndef WEFT_STORE_INTERNAL_H
#define WEFT_STORE_INTERNAL_H

#include "definition.h"
#include "store.h"
#include "weft_sql.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>

/* libpq keeps its input buffer at the size of the largest result it read (a join's claim
 * of 100,000 upstream outputs): after a result this big the connection is replaced before
 * its next use. */
#define RECONNECT_AFTER_BYTES (4u * 1024u * 1024u)

struct weft_store {
    PGconn *conn; /* owned; NULL after a replacement until the next weft_store_ensure */
    bool replace; /* a result over RECONNECT_AFTER_BYTES was read */
    char *url;    /* owned */
    bool prepared;
    bool listening;         /* LISTEN weft_workflow issued on this connection */
    bool listening_cancels; /* LISTEN weft_cancel issued on this connection */
    bool tls_refused; /* the last connection attempt failed on TLS: certificate or sslmode */

    bool had_conn; /* a connection opened before: the next one is a reconnect */
};

/* (Re)opens the connection when it is not healthy or due for replacement: session
 * settings, migrations, prepared statements. */
weft_status weft_store_ensure(weft_store *s, weft_err *err);

/* Runs statement `which` with params (borrowed, as many as it takes). On success *res, if
 * res is not NULL, is a new result the caller PQclears. Errors name the statement. */
weft_status weft_store_run(weft_store *s, weft_sql_id which, const char *const *params,
                           PGresult **res, weft_err *err);

/* weft_store_run outside a transaction, reconnecting first when needed. */
weft_status weft_store_query(weft_store *s, weft_sql_id which, const char *const *params,
                             PGresult **res, weft_err *err);

/* weft_store_query of a statement whose one parameter is uid, for one row: WEFT_ENOTFOUND
 * ("unknown <kind> <uid>") when there is none; on WEFT_OK *res is new (caller PQclears). */
weft_status weft_store_query_row(weft_store *s, weft_sql_id which, const char *uid,
                                 const char *kind, PGresult **res, weft_err *err);

/* weft_store_query of a statement that returns one JSON value (a listing as one array): *out
 * is it, new; WEFT_EDB ("unreadable <what>") when it cannot be read. */
weft_status weft_store_query_json(weft_store *s, weft_sql_id which, const char *const *params,
                                  const char *what, json_t **out, weft_err *err);

/* Opens a transaction (reconnecting first when needed); weft_store_finish_tx commits it
 * when st is WEFT_OK, else rolls it back, and returns the first failure. */
weft_status weft_store_begin(weft_store *s, weft_err *err);
weft_status weft_store_finish_tx(weft_store *s, weft_status st, weft_err *err);

/* Inserts workflow uid and its activities inside the caller's transaction (see
 * weft_store_create_workflow); parent_uid and parent_activity (borrowed, both NULL for a
 * top-level workflow) link a child workflow to the activity that waits for it. */
weft_status weft_store_insert_workflow(weft_store *s, const char *uid, const weft_definition *def,
                                       const json_t *doc, const json_t *inputs,
                                       const char *parent_uid, const char *parent_activity,
                                       weft_dispatch_list *dispatch, bool *existed, weft_err *err);

/* After creating workflows: refreshes the planner's statistics if the tables outgrew them
 * (best effort, logged against uid). */
void weft_store_refresh_statistics(weft_store *s, const char *uid);

/* Appends one dispatch to l (uid and queue borrowed, copied; queue NULL: `default`). */
void weft_store_dispatch_add(weft_dispatch_list *l, const char *uid, int attempt, int priority,
                             const char *queue);

/* Appends the rows (uid, attempt, priority, queue, ...) of r to dispatch. */
void weft_store_append_dispatches(PGresult *r, weft_dispatch_list *dispatch);

/* Reads retries used and the retry policy from five columns of row from col on: retries,
 * max_retries, initial_delay_ms, backoff, max_delay_ms (the order the statements that
 * need them return them in). */
void weft_store_read_retry(PGresult *r, int row, int col, int *retries, weft_retry_policy *policy);

/* Column col of row as a new JSON value: json null for SQL NULL, NULL if unreadable. */
json_t *weft_store_json(PGresult *r, int row, int col);

/* Column col of row parsed into *out: the one place statuses cross from text to enum.
 * WEFT_EDB for a name Postgres should never hold. */
weft_status weft_store_workflow_status(PGresult *r, int row, int col, weft_workflow_status *out,
                                       weft_err *err);
weft_status weft_store_activity_status(PGresult *r, int row, int col, weft_activity_status *out,
                                       weft_err *err);

#endif

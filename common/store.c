#include "store.h"

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "queues.h"
#include "store_internal.h"
#include "telemetry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arbitrary but fixed: every weft process migrates under this advisory lock key. */
#define MIGRATION_LOCK_KEY 0x77656674

void weft_dispatch_list_finish(weft_dispatch_list *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}

void weft_store_dispatch_add(weft_dispatch_list *l, const char *uid, int attempt, int priority,
                             const char *queue)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = weft_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    weft_dispatch *d = &l->items[l->n++];
    snprintf(d->uid, sizeof d->uid, "%s", uid);
    d->attempt = attempt;
    d->priority = priority;
    snprintf(d->queue, sizeof d->queue, "%s", queue ? queue : WEFT_QUEUE_DEFAULT);
    d->workflow_uid[0] = '\0';
    d->handoff = false;
}

void weft_store_append_dispatches(PGresult *r, weft_dispatch_list *dispatch)
{
    for (int i = 0; i < PQntuples(r); i++)
        weft_store_dispatch_add(dispatch, PQgetvalue(r, i, 0), atoi(PQgetvalue(r, i, 1)),
                                atoi(PQgetvalue(r, i, 2)), PQgetvalue(r, i, 3));
}

void weft_store_read_retry(PGresult *r, int row, int col, int *retries, weft_retry_policy *policy)
{
    *retries = atoi(PQgetvalue(r, row, col));
    policy->max_retries = atoi(PQgetvalue(r, row, col + 1));
    policy->initial_delay_ms = atof(PQgetvalue(r, row, col + 2));
    policy->backoff = atof(PQgetvalue(r, row, col + 3));
    policy->max_delay_ms = atof(PQgetvalue(r, row, col + 4));
}

json_t *weft_store_json(PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    return json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
}

/* A status column that parsed (ok) or names a state this build does not know. */
static weft_status status_column(PGresult *r, int row, int col, bool ok, const char *machine,
                                 weft_err *err)
{
    return ok ? WEFT_OK
              : weft_err_set(err, WEFT_EDB, "postgres returned unknown %s status '%s'", machine,
                             PQgetvalue(r, row, col));
}

weft_status weft_store_workflow_status(PGresult *r, int row, int col, weft_workflow_status *out,
                                       weft_err *err)
{
    bool ok = weft_workflow_status_parse(PQgetvalue(r, row, col), out);
    return status_column(r, row, col, ok, "workflow", err);
}

weft_status weft_store_activity_status(PGresult *r, int row, int col, weft_activity_status *out,
                                       weft_err *err)
{
    bool ok = weft_activity_status_parse(PQgetvalue(r, row, col), out);
    return status_column(r, row, col, ok, "activity", err);
}

/* A failed statement is an infrastructure problem (retry the message later) unless
 * Postgres says the data itself is bad (SQLSTATE class 22), which no retry can fix. */
static weft_status db_error(weft_store *s, PGresult *r, const char *what, weft_err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = PQerrorMessage(s->conn);
    char line[300];
    snprintf(line, sizeof line, "%s", msg ? msg : "unknown error");
    line[strcspn(line, "\n")] = '\0';
    weft_status st = state && strncmp(state, "22", 2) == 0 ? WEFT_EINVAL : WEFT_EDB;
    return weft_err_set(err, st, "postgres: %s: %s%s%s", what, line, state ? " SQLSTATE " : "",
                        state ? state : "");
}

/* Prepared once the statements are (after the migrations created what they refer to), by
 * its text before. A big result marks the connection for replacement. */
weft_status weft_store_run(weft_store *s, weft_sql_id which, const char *const *params,
                           PGresult **res, weft_err *err)
{
    const weft_sql_statement *q = &weft_sql_statements[which];
    PGresult *r = s->prepared
                      ? PQexecPrepared(s->conn, q->name, q->nparams, params, NULL, NULL, 0)
                      : PQexecParams(s->conn, q->text, q->nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType t = PQresultStatus(r);
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
        char what[64];
        snprintf(what, sizeof what, "statement '%s'", q->name);
        weft_status st = db_error(s, r, what, err);
        PQclear(r);
        return st;
    }
    size_t bytes = 0;
    for (int i = 0; i < q->nparams; i++)
        bytes += params[i] ? strlen(params[i]) : 0;
    for (int i = 0; i < PQntuples(r) && bytes <= RECONNECT_AFTER_BYTES; i++)
        for (int j = 0; j < PQnfields(r); j++)
            bytes += (size_t)PQgetlength(r, i, j);
    if (bytes > RECONNECT_AFTER_BYTES)
        s->replace = true;
    /* outside a transaction the buffers can go at once (a PGresult outlives its
     * connection); inside one, at the next start */
    if (s->replace && PQtransactionStatus(s->conn) == PQTRANS_IDLE) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return WEFT_OK;
}

/* Runs one migration, a script of several statements, with the simple protocol. */
static weft_status run_migration(weft_store *s, const weft_sql_migration *m, weft_err *err)
{
    PGresult *r = PQexec(s->conn, m->text);
    ExecStatusType t = PQresultStatus(r);
    weft_status st = WEFT_OK;
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
        char what[64];
        snprintf(what, sizeof what, "migration %s", m->file);
        st = db_error(s, r, what, err);
    }
    PQclear(r);
    return st;
}

/* Applies the migrations after the recorded version, each in its own transaction, under
 * the advisory lock. */
static weft_status migrate(weft_store *s, weft_err *err)
{
    char key[16], version[16];
    snprintf(key, sizeof key, "%d", MIGRATION_LOCK_KEY);
    const char *lock_p[] = {key};
    weft_status st = weft_store_run(s, WEFT_SQL_MIGRATION_LOCK, lock_p, NULL, err);
    if (st)
        return st;
    st = weft_store_run(s, WEFT_SQL_SCHEMA_VERSION_TABLE, NULL, NULL, err);
    size_t current = 0;
    PGresult *r;
    if (!st && !(st = weft_store_run(s, WEFT_SQL_SCHEMA_VERSION, NULL, &r, err))) {
        current = (size_t)atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    for (size_t i = current; !st && i < weft_sql_nmigrations; i++) {
        const weft_sql_migration *m = &weft_sql_migrations[i];
        st = weft_store_run(s, WEFT_SQL_BEGIN, NULL, NULL, err);
        if (!st)
            st = run_migration(s, m, err);
        if (!st) {
            snprintf(version, sizeof version, "%d", m->version);
            const char *p[] = {version};
            st = weft_store_run(s, WEFT_SQL_SCHEMA_VERSION_RECORD, p, NULL, err);
        }
        if (!st)
            st = weft_store_run(s, WEFT_SQL_COMMIT, NULL, NULL, err);
        if (st)
            weft_store_run(s, WEFT_SQL_ROLLBACK, NULL, NULL, NULL);
        else
            WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "applied schema migration %s", m->file);
    }
    weft_store_run(s, WEFT_SQL_MIGRATION_UNLOCK, lock_p, NULL, NULL);
    return st;
}

static weft_status prepare_all(weft_store *s, weft_err *err)
{
    for (int i = 0; i < WEFT_SQL_N; i++) {
        const weft_sql_statement *q = &weft_sql_statements[i];
        PGresult *r = PQprepare(s->conn, q->name, q->text, q->nparams, NULL);
        weft_status st = WEFT_OK;
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            char what[64];
            snprintf(what, sizeof what, "preparing statement '%s'", q->name);
            st = db_error(s, r, what, err);
        }
        PQclear(r);
        if (st)
            return st;
    }
    s->prepared = true;
    return WEFT_OK;
}

/* Server notices ("relation already exists, skipping") are not for operators' logs. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* What a failed connection says about the TLS set-up of the URL, or NULL when it is no TLS
 * refusal. libpq has no error code for these, only its (untranslated, as weft never sets a
 * locale) messages and OpenSSL's. */
static const char *tls_refusal(const char *libpq_msg)
{
    static const struct {
        const char *says, *means;
    } refusals[] = {
        {"certificate verify failed",
         "the server's certificate does not verify against sslrootcert"},
        {"does not match host name", "the server's certificate is not for the host of the URL"},
        {"root certificate file", "sslrootcert cannot be read"},
        {"does not support SSL", "the server has no TLS and sslmode requires it"},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
        if (strstr(libpq_msg, refusals[i].says))
            return refusals[i].means;
    return NULL;
}

/* (Re)opens the connection when it is not healthy, then makes sure statements exist. */
weft_status weft_store_ensure(weft_store *s, weft_err *err)
{
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK && s->prepared && !s->replace)
        return WEFT_OK;
    /* a replacement for a big result is no reconnect: nothing was lost */
    bool reconnect = s->had_conn && !s->replace;
    s->replace = false;
    if (s->conn)
        PQfinish(s->conn);
    s->prepared = false;
    s->listening = false;
    s->listening_cancels = false;
    s->conn = PQconnectdb(s->url);
    PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        /* libpq quotes what it could not parse of the URL, password included */
        char *msg = weft_redact_secret(PQerrorMessage(s->conn), s->url);
        const char *tls = tls_refusal(msg);
        s->tls_refused = tls != NULL;
        msg[strcspn(msg, "\n")] = '\0';
        if (tls)
            weft_err_set(err, WEFT_EDB, "postgres: TLS: %s (WEFT_DATABASE_URL): %.300s", tls, msg);
        else
            weft_err_set(err, WEFT_EDB, "postgres unreachable: %.300s", msg);
        free(msg);
        return WEFT_EDB;
    }
    if (reconnect)
        weft_telemetry_reconnect("postgres");
    s->had_conn = true;
    weft_status st = migrate(s, err);
    return st ? st : prepare_all(s, err);
}

void weft_store_destroy(weft_store *s)
{
    if (!s)
        return;
    if (s->conn)
        PQfinish(s->conn);
    free(s->url);
    free(s);
}

weft_status weft_store_connect(const char *url, weft_store **out, weft_err *err)
{
    weft_store *s = weft_xcalloc(1, sizeof *s);
    s->url = weft_xstrdup(url);
    weft_status st = weft_store_ensure(s, err);
    /* at start a TLS refusal is configuration; later it is the server's change, and callers
     * of the statements retry it like any outage (EINVAL there would dead-letter messages) */
    if (st == WEFT_EDB && s->tls_refused) {
        st = WEFT_EINVAL;
        if (err)
            err->status = st;
    }
    if (st)
        weft_store_destroy(s);
    *out = st ? NULL : s;
    return st;
}

/* One statement outside a transaction: reconnects first when needed. */
weft_status weft_store_query(weft_store *s, weft_sql_id which, const char *const *params,
                             PGresult **res, weft_err *err)
{
    weft_status st = weft_store_ensure(s, err);
    return st ? st : weft_store_run(s, which, params, res, err);
}

weft_status weft_store_query_row(weft_store *s, weft_sql_id which, const char *uid,
                                 const char *kind, PGresult **res, weft_err *err)
{
    const char *p[] = {uid};
    weft_status st = weft_store_query(s, which, p, res, err);
    if (!st && PQntuples(*res) == 0) {
        PQclear(*res);
        st = weft_err_set(err, WEFT_ENOTFOUND, "unknown %s %s", kind, uid);
    }
    return st;
}

weft_status weft_store_query_json(weft_store *s, weft_sql_id which, const char *const *params,
                                  const char *what, json_t **out, weft_err *err)
{
    PGresult *r;
    weft_status st = weft_store_query(s, which, params, &r, err);
    if (st)
        return st;
    *out = weft_store_json(r, 0, 0);
    PQclear(r);
    return *out ? WEFT_OK : weft_err_set(err, WEFT_EDB, "unreadable %s", what);
}

weft_status weft_store_begin(weft_store *s, weft_err *err)
{
    weft_status st = weft_store_ensure(s, err);
    return st ? st : weft_store_run(s, WEFT_SQL_BEGIN, NULL, NULL, err);
}

/* Commits when st is WEFT_OK, else rolls back; returns the first failure. */
weft_status weft_store_finish_tx(weft_store *s, weft_status st, weft_err *err)
{
    if (st) {
        weft_store_run(s, WEFT_SQL_ROLLBACK, NULL, NULL, NULL);
        return st;
    }
    return weft_store_run(s, WEFT_SQL_COMMIT, NULL, NULL, err);
}

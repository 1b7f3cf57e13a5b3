#include "store.h"

#include "alloc.h"
#include "dag.h"
#include "log.h"
#include "weft_sql.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arbitrary but fixed: every weft process migrates under this advisory lock key. */
#define MIGRATION_LOCK_KEY 0x77656674

/* libpq keeps its input buffer at the size of the largest result it read (a join's claim
 * of 100,000 upstream outputs): after a result this big the connection is replaced before
 * its next use. */
#define RECONNECT_AFTER_BYTES (4u * 1024u * 1024u)

struct weft_store {
    PGconn *conn;
    bool replace; /* a result over RECONNECT_AFTER_BYTES was read */
    char *url;
    bool prepared;
    bool listening;
};

void weft_dispatch_list_finish(weft_dispatch_list *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}

static void dispatch_add(weft_dispatch_list *l, const char *uid, int attempt, int priority)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = weft_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    weft_dispatch *d = &l->items[l->n++];
    snprintf(d->uid, sizeof d->uid, "%s", uid);
    d->attempt = attempt;
    d->priority = priority;
}

void weft_claim_finish(weft_claim *c)
{
    free(c->name);
    free(c->task);
    json_decref(c->params);
    json_decref(c->inputs);
    json_decref(c->upstream);
    free(c->upstream_ordered);
    memset(c, 0, sizeof *c);
}

void weft_workflow_info_finish(weft_workflow_info *w)
{
    json_decref(w->output);
    free(w->error);
    memset(w, 0, sizeof *w);
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

/* Runs statement `which` with its parameters: prepared once the statements are (after the
 * migrations created what they refer to), by its text before. On success *res is the
 * result (the caller PQclears it). A big result marks the connection for replacement
 * (RECONNECT_AFTER_BYTES). */
static weft_status run(weft_store *s, weft_sql_id which, const char *const *params, PGresult **res,
                       weft_err *err)
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
    weft_status st = run(s, WEFT_SQL_MIGRATION_LOCK, lock_p, NULL, err);
    if (st)
        return st;
    st = run(s, WEFT_SQL_SCHEMA_VERSION_TABLE, NULL, NULL, err);
    size_t current = 0;
    PGresult *r;
    if (!st && !(st = run(s, WEFT_SQL_SCHEMA_VERSION, NULL, &r, err))) {
        current = (size_t)atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    for (size_t i = current; !st && i < weft_sql_nmigrations; i++) {
        const weft_sql_migration *m = &weft_sql_migrations[i];
        st = run(s, WEFT_SQL_BEGIN, NULL, NULL, err);
        if (!st)
            st = run_migration(s, m, err);
        if (!st) {
            snprintf(version, sizeof version, "%d", m->version);
            const char *p[] = {version};
            st = run(s, WEFT_SQL_SCHEMA_VERSION_RECORD, p, NULL, err);
        }
        if (!st)
            st = run(s, WEFT_SQL_COMMIT, NULL, NULL, err);
        if (st)
            run(s, WEFT_SQL_ROLLBACK, NULL, NULL, NULL);
        else
            WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "applied schema migration %s", m->file);
    }
    run(s, WEFT_SQL_MIGRATION_UNLOCK, lock_p, NULL, NULL);
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

/* (Re)opens the connection when it is not healthy, then makes sure statements exist. */
static weft_status ensure(weft_store *s, weft_err *err)
{
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK && s->prepared && !s->replace)
        return WEFT_OK;
    s->replace = false;
    if (s->conn)
        PQfinish(s->conn);
    s->prepared = false;
    s->listening = false;
    s->conn = PQconnectdb(s->url);
    PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        char line[300];
        snprintf(line, sizeof line, "%s", PQerrorMessage(s->conn));
        line[strcspn(line, "\n")] = '\0';
        return weft_err_set(err, WEFT_EDB, "postgres unreachable: %s", line);
    }
    weft_status st = run(s, WEFT_SQL_SESSION, NULL, NULL, err);
    if (!st)
        st = migrate(s, err);
    return st ? st : prepare_all(s, err);
}

weft_status weft_store_connect(const char *url, weft_store **out, weft_err *err)
{
    weft_store *s = weft_xcalloc(1, sizeof *s);
    s->url = weft_xstrdup(url);
    weft_status st = ensure(s, err);
    if (st) {
        weft_store_destroy(s);
        *out = NULL;
        return st;
    }
    *out = s;
    return WEFT_OK;
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

/* One statement outside a transaction: reconnects first when needed. */
static weft_status query(weft_store *s, weft_sql_id which, const char *const *params,
                         PGresult **res, weft_err *err)
{
    weft_status st = ensure(s, err);
    return st ? st : run(s, which, params, res, err);
}

static weft_status begin(weft_store *s, weft_err *err)
{
    weft_status st = ensure(s, err);
    return st ? st : run(s, WEFT_SQL_BEGIN, NULL, NULL, err);
}

/* Commits when st is WEFT_OK, else rolls back; returns the first failure. */
static weft_status finish_tx(weft_store *s, weft_status st, weft_err *err)
{
    if (st) {
        run(s, WEFT_SQL_ROLLBACK, NULL, NULL, NULL);
        return st;
    }
    return run(s, WEFT_SQL_COMMIT, NULL, NULL, err);
}

static json_t *int_list(const size_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer((json_int_t)v[i]));
    return a;
}

/* The activities as the rows WEFT_SQL_CREATE_ACTIVITIES reads, with their dependents and
 * whether they are ready at the start. */
static json_t *activity_rows(const weft_definition *def)
{
    size_t **down, *ndown;
    weft_dag_downstream(def, &down, &ndown);
    size_t *ready = weft_xcalloc(def->n, sizeof *ready);
    bool *is_ready = weft_xcalloc(def->n, sizeof *is_ready);
    size_t nready = weft_dag_ready(def, NULL, ready);
    for (size_t i = 0; i < nready; i++)
        is_ready[ready[i]] = true;
    json_t *rows = json_array();
    for (size_t i = 0; i < def->n; i++) {
        const weft_activity_def *a = &def->activities[i];
        char uid[WEFT_UUID_LEN + 1];
        weft_uuid_new(uid);
        json_array_append_new(
            rows,
            json_pack("{s:I, s:s, s:s, s:s, s:O, s:o, s:o, s:b, s:i, s:f, s:f, s:f, s:i, s:i}",
                      "idx", (json_int_t)i, "uid", uid, "name", a->name, "task", a->task, "params",
                      a->params, "deps", int_list(a->deps, a->ndeps), "downstream",
                      int_list(down[i], ndown[i]), "ready", is_ready[i], "max_retries",
                      a->retry.max_retries, "initial_delay_ms", a->retry.initial_delay_ms,
                      "backoff", a->retry.backoff, "max_delay_ms", a->retry.max_delay_ms,
                      "timeout_s", a->timeout_s, "priority", a->priority));
    }
    weft_dag_free_downstream(down, ndown, def->n);
    free(ready);
    free(is_ready);
    return rows;
}

static void append_dispatches(PGresult *r, weft_dispatch_list *dispatch, int filter_col)
{
    for (int i = 0; i < PQntuples(r); i++) {
        if (filter_col >= 0 && strcmp(PQgetvalue(r, i, filter_col), "t") != 0)
            continue;
        dispatch_add(dispatch, PQgetvalue(r, i, 0), atoi(PQgetvalue(r, i, 1)),
                     atoi(PQgetvalue(r, i, 2)));
    }
}

weft_status weft_store_create_workflow(weft_store *s, const char *uid, const weft_definition *def,
                                       const json_t *doc, const json_t *inputs,
                                       weft_dispatch_list *dispatch, bool *existed, weft_err *err)
{
    *existed = false;
    char *doc_text = json_dumps(doc, JSON_COMPACT);
    char *inputs_text = json_dumps(inputs, JSON_COMPACT);
    json_t *rows = activity_rows(def);
    char *rows_text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    char total[24];
    snprintf(total, sizeof total, "%zu", def->n);

    weft_status st = begin(s, err);
    PGresult *r = NULL;
    if (!st) {
        const char *p[] = {uid, def->name, doc_text, inputs_text, total};
        st = run(s, WEFT_SQL_CREATE_WORKFLOW, p, &r, err);
    }
    if (!st) {
        *existed = PQntuples(r) == 0;
        PQclear(r);
    }
    if (!st && !*existed) {
        const char *p[] = {uid, rows_text};
        st = run(s, WEFT_SQL_CREATE_ACTIVITIES, p, &r, err);
        if (!st) {
            append_dispatches(r, dispatch, -1);
            PQclear(r);
        }
    }
    st = finish_tx(s, st, err);
    free(doc_text);
    free(inputs_text);
    free(rows_text);
    return st;
}

static weft_status lock_workflow(weft_store *s, const char *uid, char status[16], weft_err *err)
{
    PGresult *r;
    const char *p[] = {uid};
    weft_status st = run(s, WEFT_SQL_LOCK_WORKFLOW, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0)
        st = weft_err_set(err, WEFT_ENOTFOUND, "unknown workflow %s", uid);
    else
        snprintf(status, 16, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return st;
}

weft_status weft_store_resume(weft_store *s, const char *uid, weft_dispatch_list *dispatch,
                              char status[16], weft_err *err)
{
    const char *p[] = {uid};
    weft_status st = begin(s, err);
    if (!st)
        st = lock_workflow(s, uid, status, err);
    bool resumable = !st && (strcmp(status, "pending") == 0 || strcmp(status, "failed") == 0);
    if (resumable)
        st = run(s, WEFT_SQL_RESET_FAILED, p, NULL, err);
    if (!st && (resumable || strcmp(status, "running") == 0)) {
        PGresult *r;
        st = run(s, WEFT_SQL_QUEUE_READY, p, &r, err);
        if (!st) {
            append_dispatches(r, dispatch, -1);
            PQclear(r);
        }
    }
    return finish_tx(s, st, err);
}

static json_t *get_json(PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    return json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
}

weft_status weft_store_activity_state(weft_store *s, const char *uid, weft_activity_state *state,
                                      weft_err *err)
{
    PGresult *r;
    const char *p[] = {uid};
    weft_status st = query(s, WEFT_SQL_ACTIVITY_STATE, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return weft_err_set(err, WEFT_ENOTFOUND, "unknown activity %s", uid);
    }
    snprintf(state->workflow_uid, sizeof state->workflow_uid, "%s", PQgetvalue(r, 0, 0));
    snprintf(state->status, sizeof state->status, "%s", PQgetvalue(r, 0, 1));
    state->attempt = atoi(PQgetvalue(r, 0, 2));
    state->handed_off = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
    state->priority = atoi(PQgetvalue(r, 0, 4));
    state->retries = atoi(PQgetvalue(r, 0, 5));
    state->retry.max_retries = atoi(PQgetvalue(r, 0, 6));
    state->retry.initial_delay_ms = atof(PQgetvalue(r, 0, 7));
    state->retry.backoff = atof(PQgetvalue(r, 0, 8));
    state->retry.max_delay_ms = atof(PQgetvalue(r, 0, 9));
    PQclear(r);
    return WEFT_OK;
}

weft_status weft_store_claim(weft_store *s, const char *uid, int attempt, const char *worker,
                             weft_claim *claim, weft_activity_state *state, weft_err *err)
{
    memset(claim, 0, sizeof *claim);
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {uid, att, worker};
    PGresult *r;
    weft_status st = query(s, WEFT_SQL_CLAIM, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        st = weft_store_activity_state(s, uid, state, err);
        return st ? st : WEFT_ESTALE;
    }
    snprintf(claim->workflow_uid, sizeof claim->workflow_uid, "%s", PQgetvalue(r, 0, 0));
    claim->name = weft_xstrdup(PQgetvalue(r, 0, 1));
    claim->task = weft_xstrdup(PQgetvalue(r, 0, 2));
    claim->params = get_json(r, 0, 3);
    claim->priority = atoi(PQgetvalue(r, 0, 4));
    claim->timeout_s = atoi(PQgetvalue(r, 0, 5));
    claim->retries = atoi(PQgetvalue(r, 0, 6));
    claim->retry.max_retries = atoi(PQgetvalue(r, 0, 7));
    claim->retry.initial_delay_ms = atof(PQgetvalue(r, 0, 8));
    claim->retry.backoff = atof(PQgetvalue(r, 0, 9));
    claim->retry.max_delay_ms = atof(PQgetvalue(r, 0, 10));
    claim->inputs = get_json(r, 0, 11);
    json_t *up = get_json(r, 0, 12);
    PQclear(r);
    claim->upstream = json_object();
    claim->nupstream = json_array_size(up);
    claim->upstream_ordered = weft_xcalloc(claim->nupstream, sizeof(json_t *));
    for (size_t i = 0; i < claim->nupstream; i++) {
        json_t *pair = json_array_get(up, i);
        const char *name = json_string_value(json_array_get(pair, 0));
        json_t *out = json_array_get(pair, 1);
        json_object_set(claim->upstream, name ? name : "", out);
        claim->upstream_ordered[i] = json_object_get(claim->upstream, name ? name : "");
    }
    json_decref(up);
    if (!claim->params || !claim->inputs) {
        weft_claim_finish(claim);
        return weft_err_set(err, WEFT_EDB, "postgres returned unreadable JSON for %s", uid);
    }
    return WEFT_OK;
}

weft_status weft_store_complete(weft_store *s, const char *uid, int attempt, const json_t *input,
                                const json_t *output, weft_err *err)
{
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    char *in = json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY);
    char *out = json_dumps(output, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *p[] = {uid, att, in, out};
    PGresult *r;
    weft_status st = query(s, WEFT_SQL_COMPLETE, p, &r, err);
    free(in);
    free(out);
    if (st)
        return st;
    st = PQntuples(r) == 0 ? WEFT_ESTALE : WEFT_OK;
    PQclear(r);
    return st;
}

weft_status weft_store_fail(weft_store *s, const char *uid, int attempt, const char *error,
                            bool retry, int delay_ms, int *next_attempt, weft_err *err)
{
    char att[16], delay[16];
    snprintf(att, sizeof att, "%d", attempt);
    snprintf(delay, sizeof delay, "%d", delay_ms);
    const char *p[] = {uid, att, error, retry ? "true" : "false", delay};
    PGresult *r;
    weft_status st = query(s, WEFT_SQL_FAIL, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0)
        st = WEFT_ESTALE;
    else if (next_attempt)
        *next_attempt = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return st;
}

weft_status weft_store_handoff(weft_store *s, const char *workflow_uid, const char *uid,
                               int attempt, weft_dispatch_list *dispatch, char workflow_status[16],
                               weft_err *err)
{
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {workflow_uid, uid, att};
    PGresult *r;
    weft_status st = query(s, WEFT_SQL_HANDOFF, p, &r, err);
    if (st)
        return st;
    const char *outcome = "";
    for (int i = 0; i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, 2)) {
            snprintf(workflow_status, 16, "%s", PQgetvalue(r, i, 0));
            outcome = PQgetvalue(r, i, 1);
        } else {
            dispatch_add(dispatch, PQgetvalue(r, i, 2), atoi(PQgetvalue(r, i, 3)),
                         atoi(PQgetvalue(r, i, 4)));
        }
    }
    if (strcmp(outcome, "unknown_workflow") == 0)
        st = weft_err_set(err, WEFT_ENOTFOUND, "unknown workflow %s", workflow_uid);
    else if (strcmp(outcome, "unknown_activity") == 0)
        st = weft_err_set(err, WEFT_ENOTFOUND, "unknown activity %s in workflow %s", uid,
                          workflow_uid);
    else if (strcmp(outcome, "stale") == 0)
        st = WEFT_ESTALE;
    else if (strcmp(outcome, "handed_off") != 0 && strcmp(outcome, "duplicate") != 0)
        st = weft_err_set(err, WEFT_EDB, "postgres: statement 'handoff' returned no outcome");
    PQclear(r);
    return st;
}

weft_status weft_store_workflow(weft_store *s, const char *uid, weft_workflow_info *info,
                                weft_err *err)
{
    memset(info, 0, sizeof *info);
    const char *p[] = {uid};
    PGresult *r;
    weft_status st = query(s, WEFT_SQL_WORKFLOW, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return weft_err_set(err, WEFT_ENOTFOUND, "unknown workflow %s", uid);
    }
    snprintf(info->uid, sizeof info->uid, "%s", PQgetvalue(r, 0, 0));
    snprintf(info->name, sizeof info->name, "%s", PQgetvalue(r, 0, 1));
    snprintf(info->status, sizeof info->status, "%s", PQgetvalue(r, 0, 2));
    info->output = PQgetisnull(r, 0, 3) ? NULL : get_json(r, 0, 3);
    info->error = PQgetisnull(r, 0, 4) ? NULL : weft_xstrdup(PQgetvalue(r, 0, 4));
    info->total = atoi(PQgetvalue(r, 0, 5));
    info->remaining = atoi(PQgetvalue(r, 0, 6));
    info->age_s = atof(PQgetvalue(r, 0, 7));
    info->run_s = atof(PQgetvalue(r, 0, 8));
    PQclear(r);
    return WEFT_OK;
}

weft_status weft_store_activities(weft_store *s, const char *uid, json_t **out, weft_err *err)
{
    const char *p[] = {uid};
    PGresult *r;
    weft_status st = query(s, WEFT_SQL_ACTIVITIES, p, &r, err);
    if (st)
        return st;
    *out = get_json(r, 0, 0);
    PQclear(r);
    return *out ? WEFT_OK : weft_err_set(err, WEFT_EDB, "unreadable activity list");
}

weft_status weft_store_wait_notify(weft_store *s, int timeout_ms, weft_err *err)
{
    weft_status st = ensure(s, err);
    if (!st && !s->listening) {
        st = run(s, WEFT_SQL_LISTEN, NULL, NULL, err);
        s->listening = st == WEFT_OK;
    }
    if (st)
        return st;
    PGnotify *n;
    PQconsumeInput(s->conn);
    if ((n = PQnotifies(s->conn))) {
        PQfreemem(n);
        return WEFT_OK;
    }
    struct pollfd pfd = {PQsocket(s->conn), POLLIN, 0};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0 && errno != EINTR)
        return weft_err_set(err, WEFT_EDB, "postgres: poll: %s", strerror(errno));
    if (rc <= 0)
        return WEFT_ETIMEOUT;
    if (!PQconsumeInput(s->conn))
        return weft_err_set(err, WEFT_EDB, "postgres: connection lost while waiting");
    if ((n = PQnotifies(s->conn))) {
        while (n) {
            PQfreemem(n);
            n = PQnotifies(s->conn);
        }
        return WEFT_OK;
    }
    return WEFT_ETIMEOUT;
}

weft_status weft_store_release(weft_store *s, const char *uid, int attempt, weft_err *err)
{
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {uid, att};
    PGresult *r;
    weft_status st = query(s, WEFT_SQL_RELEASE, p, &r, err);
    if (st)
        return st;
    st = PQntuples(r) ? WEFT_OK : WEFT_ESTALE;
    PQclear(r);
    return st;
}

/* Runs one sweep statement: rows (uid, attempt, priority, workflow_uid) go to out. */
static weft_status sweep_into(weft_store *s, weft_sql_id which, const char *secs,
                              weft_dispatch_list *out, weft_err *err)
{
    const char *p[] = {secs};
    PGresult *r;
    weft_status st = query(s, which, p, &r, err);
    if (st)
        return st;
    size_t first = out->n;
    append_dispatches(r, out, -1);
    for (int i = 0; i < PQntuples(r); i++)
        snprintf(out->items[first + (size_t)i].workflow_uid, WEFT_UUID_LEN + 1, "%s",
                 PQgetvalue(r, i, 3));
    PQclear(r);
    return WEFT_OK;
}

weft_status weft_store_sweep(weft_store *s, int older_than_s, weft_dispatch_list *activities,
                             weft_dispatch_list *handoffs, weft_err *err)
{
    char secs[16];
    snprintf(secs, sizeof secs, "%d", older_than_s);
    weft_status st = sweep_into(s, WEFT_SQL_SWEEP, secs, activities, err);
    return st ? st : sweep_into(s, WEFT_SQL_SWEEP_HANDOFFS, secs, handoffs, err);
}

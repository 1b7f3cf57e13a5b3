#include "store_workflow.h"

#include "alloc.h"
#include "dag.h"
#include "log.h"
#include "store_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void weft_workflow_info_finish(weft_workflow_info *w)
{
    json_decref(w->output);
    free(w->error);
    memset(w, 0, sizeof *w);
}

static json_t *int_list(const size_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer((json_int_t)v[i]));
    return a;
}

/* The cap a workflow of def is created with: 0 when it has no more activities than its
 * max_parallel, which it then cannot reach (nothing is counted for it: migration 10). */
static int workflow_cap(const weft_definition *def)
{
    return def->max_parallel > 0 && def->n > (size_t)def->max_parallel ? def->max_parallel : 0;
}

/* The activities as the rows WEFT_SQL_CREATE_ACTIVITIES reads, with their dependents and
 * whether they are queued at the start: the ready ones, up to the workflow's cap in
 * definition order; *queued and *held (ready beyond the cap) count them. */
static json_t *activity_rows(const weft_definition *def, size_t *queued, size_t *held)
{
    size_t **down, *ndown;
    weft_dag_downstream(def, &down, &ndown);
    size_t *ready = weft_xcalloc(def->n, sizeof *ready);
    bool *is_ready = weft_xcalloc(def->n, sizeof *is_ready);
    size_t nready = weft_dag_ready(def, NULL, ready);
    size_t cap = workflow_cap(def) ? (size_t)workflow_cap(def) : nready;
    *queued = nready < cap ? nready : cap;
    *held = nready - *queued;
    for (size_t i = 0; i < *queued; i++)
        is_ready[ready[i]] = true;
    json_t *rows = json_array();
    for (size_t i = 0; i < def->n; i++) {
        const weft_activity_def *a = &def->activities[i];
        char uid[WEFT_UUID_LEN + 1];
        weft_uuid_new(uid);
        json_array_append_new(
            rows,
            json_pack("{s:I, s:s, s:s, s:s, s:O, s:o, s:o, s:b, s:i, s:f, s:f, s:f, s:i, s:i, s:s,"
                      " s:i}",
                      "idx", (json_int_t)i, "uid", uid, "name", a->name, "task", a->task, "params",
                      a->params, "deps", int_list(a->deps, a->ndeps), "downstream",
                      int_list(down[i], ndown[i]), "ready", is_ready[i], "max_retries",
                      a->retry.max_retries, "initial_delay_ms", a->retry.initial_delay_ms,
                      "backoff", a->retry.backoff, "max_delay_ms", a->retry.max_delay_ms,
                      "timeout_s", a->timeout_s, "priority", a->priority, "queue", a->queue,
                      "heartbeat_s", a->heartbeat_s));
        if (a->concurrency_key)
            json_object_set_new(json_array_get(rows, i), "concurrency",
                                json_pack("{s:s, s:i}", "key", a->concurrency_key, "limit",
                                          a->concurrency_limit));
    }
    for (size_t i = 0; i < def->n; i++)
        if (def->activities[i].map_over)
            json_object_set_new(json_array_get(rows, i), "map",
                                json_pack("{s:s, s:i}", "over", def->activities[i].map_over,
                                          "max_parallel", def->activities[i].map_max_parallel));
    weft_dag_free_downstream(down, ndown, def->n);
    free(ready);
    free(is_ready);
    return rows;
}

/* Creating workflows is what grows the tables. Once they outgrow their statistics, the
 * plans cached for them (built for the smaller tables) are refreshed at once rather than
 * at autovacuum's next round, up to a minute later, in which every claim and handoff
 * would read whole tables. Best effort: the workflow is created either way. */
void weft_store_refresh_statistics(weft_store *s, const char *uid)
{
    PGresult *r;
    weft_err err = {0};
    weft_status st = weft_store_query(s, WEFT_SQL_STALE_STATISTICS, NULL, &r, &err);
    if (st) {
        WEFT_LOG(WEFT_LOG_WARN, uid, NULL, "%s", err.msg);
        return;
    }
    bool stale = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!stale)
        return;
    if (weft_store_query(s, WEFT_SQL_ANALYZE, NULL, NULL, &err))
        WEFT_LOG(WEFT_LOG_WARN, uid, NULL, "%s", err.msg);
    else
        WEFT_LOG(WEFT_LOG_DEBUG, uid, NULL, "planner statistics refreshed: the tables grew");
}

weft_status weft_store_insert_workflow(weft_store *s, const char *uid, const weft_definition *def,
                                       const json_t *doc, const json_t *inputs,
                                       const char *parent_uid, const char *parent_activity,
                                       weft_dispatch_list *dispatch, bool *existed, weft_err *err)
{
    *existed = false;
    char *doc_text = json_dumps(doc, JSON_COMPACT);
    char *inputs_text = json_dumps(inputs, JSON_COMPACT);
    size_t queued, held;
    json_t *rows = activity_rows(def, &queued, &held);
    char *rows_text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    char total[24], cap[24], inflight[24], held_text[24];
    snprintf(total, sizeof total, "%zu", def->n);
    snprintf(cap, sizeof cap, "%d", workflow_cap(def));
    snprintf(inflight, sizeof inflight, "%zu", queued);
    snprintf(held_text, sizeof held_text, "%zu", held);

    PGresult *r = NULL;
    const char *p[] = {uid,         def->name,       doc_text, inputs_text, total,
                       parent_uid,  parent_activity, cap,      inflight,    held_text};
    weft_status st = weft_store_run(s, WEFT_SQL_CREATE_WORKFLOW, p, &r, err);
    if (!st) {
        *existed = PQntuples(r) == 0;
        PQclear(r);
    }
    if (!st && !*existed) {
        const char *q[] = {uid, rows_text};
        st = weft_store_run(s, WEFT_SQL_CREATE_ACTIVITIES, q, &r, err);
        if (!st) {
            weft_store_append_dispatches(r, dispatch);
            PQclear(r);
        }
    }
    free(doc_text);
    free(inputs_text);
    free(rows_text);
    return st;
}

weft_status weft_store_create_workflow(weft_store *s, const char *uid, const weft_definition *def,
                                       const json_t *doc, const json_t *inputs,
                                       weft_dispatch_list *dispatch, bool *existed, weft_err *err)
{
    *existed = false;
    weft_status st = weft_store_begin(s, err);
    if (!st)
        st = weft_store_insert_workflow(s, uid, def, doc, inputs, NULL, NULL, dispatch, existed,
                                        err);
    st = weft_store_finish_tx(s, st, err);
    if (!st && !*existed)
        weft_store_refresh_statistics(s, uid);
    return st;
}

static weft_status lock_workflow(weft_store *s, const char *uid, weft_workflow_status *status,
                                 weft_err *err)
{
    PGresult *r;
    const char *p[] = {uid};
    weft_status st = weft_store_run(s, WEFT_SQL_LOCK_WORKFLOW, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0)
        st = weft_err_set(err, WEFT_ENOTFOUND, "unknown workflow %s", uid);
    else
        st = weft_store_workflow_status(r, 0, 0, status, err);
    PQclear(r);
    return st;
}

weft_status weft_store_resume(weft_store *s, const char *uid, weft_dispatch_list *dispatch,
                              weft_workflow_status *status, weft_err *err)
{
    const char *p[] = {uid};
    weft_status st = weft_store_begin(s, err);
    if (!st)
        st = lock_workflow(s, uid, status, err);
    bool resumable = !st && (*status == WEFT_WORKFLOW_PENDING || *status == WEFT_WORKFLOW_FAILED);
    if (resumable)
        st = weft_store_run(s, WEFT_SQL_RESET_FAILED, p, NULL, err);
    if (!st && (resumable || *status == WEFT_WORKFLOW_RUNNING)) {
        PGresult *r;
        st = weft_store_run(s, WEFT_SQL_QUEUE_READY, p, &r, err);
        if (!st) {
            weft_store_append_dispatches(r, dispatch);
            PQclear(r);
        }
    }
    return weft_store_finish_tx(s, st, err);
}

weft_status weft_store_workflow(weft_store *s, const char *uid, weft_workflow_info *info,
                                weft_err *err)
{
    memset(info, 0, sizeof *info);
    PGresult *r;
    weft_status st = weft_store_query_row(s, WEFT_SQL_WORKFLOW, uid, "workflow", &r, err);
    if (st)
        return st;
    snprintf(info->uid, sizeof info->uid, "%s", PQgetvalue(r, 0, 0));
    snprintf(info->name, sizeof info->name, "%s", PQgetvalue(r, 0, 1));
    info->output = PQgetisnull(r, 0, 3) ? NULL : weft_store_json(r, 0, 3);
    info->error = PQgetisnull(r, 0, 4) ? NULL : weft_xstrdup(PQgetvalue(r, 0, 4));
    info->total = atoi(PQgetvalue(r, 0, 5));
    info->remaining = atoi(PQgetvalue(r, 0, 6));
    info->age_s = atof(PQgetvalue(r, 0, 7));
    info->run_s = atof(PQgetvalue(r, 0, 8));
    snprintf(info->parent_uid, sizeof info->parent_uid, "%s", PQgetvalue(r, 0, 9));
    snprintf(info->parent_activity, sizeof info->parent_activity, "%s", PQgetvalue(r, 0, 10));
    st = weft_store_workflow_status(r, 0, 2, &info->status, err);
    PQclear(r);
    if (st)
        weft_workflow_info_finish(info);
    return st;
}

weft_status weft_store_cancel(weft_store *s, const char *uid, const char *reason,
                              weft_workflow_status *was, bool *canceled, weft_err *err)
{
    const char *p[] = {uid, reason};
    PGresult *r;
    weft_status st = weft_store_query(s, WEFT_SQL_CANCEL, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0)
        st = weft_err_set(err, WEFT_ENOTFOUND, "unknown workflow %s", uid);
    else
        st = weft_store_workflow_status(r, 0, 0, was, err);
    if (!st)
        *canceled = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    return st;
}

weft_status weft_store_listen_cancels(weft_store *s, weft_err *err)
{
    weft_status st = weft_store_ensure(s, err);
    if (!st && !s->listening_cancels) {
        st = weft_store_run(s, WEFT_SQL_LISTEN_CANCEL, NULL, NULL, err);
        s->listening_cancels = st == WEFT_OK;
    }
    return st;
}

bool weft_store_cancel_noticed(weft_store *s, const char *uid)
{
    if (!s->conn || !s->listening_cancels || !PQconsumeInput(s->conn))
        return false;
    bool heard = false;
    PGnotify *n;
    while ((n = PQnotifies(s->conn))) {
        heard |= strcmp(n->relname, "weft_cancel") == 0 && strcmp(n->extra, uid) == 0;
        PQfreemem(n);
    }
    return heard;
}

weft_status weft_store_wait_notify(weft_store *s, int timeout_ms, weft_err *err)
{
    weft_status st = weft_store_ensure(s, err);
    if (!st && !s->listening) {
        st = weft_store_run(s, WEFT_SQL_LISTEN, NULL, NULL, err);
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

weft_status weft_store_workflow_definition(weft_store *s, const char *uid, json_t **out,
                                           weft_err *err)
{
    *out = NULL;
    PGresult *r;
    weft_status st =
        weft_store_query_row(s, WEFT_SQL_WORKFLOW_DEFINITION, uid, "workflow", &r, err);
    if (st)
        return st;
    *out = weft_store_json(r, 0, 0);
    PQclear(r);
    if (!*out)
        return weft_err_set(err, WEFT_EDB, "workflow %s: its stored definition is not JSON", uid);
    return WEFT_OK;
}

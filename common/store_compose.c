#include "store_compose.h"

#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The map's CAS: running attempt (uid, attempt) starts waiting. *idx gets its index. */
static weft_status map_wait(weft_store *s, const char *uid, int attempt, char idx[16],
                            weft_err *err)
{
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {uid, att};
    PGresult *r;
    weft_status st = weft_store_run(s, WEFT_SQL_MAP_WAIT, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0)
        st = WEFT_ESTALE;
    else
        snprintf(idx, 16, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return st;
}

weft_status weft_store_map_expand(weft_store *s, const char *wf, const char *uid, int attempt,
                                  const json_t *items, int max_parallel, size_t max_activities,
                                  weft_dispatch_list *dispatch, weft_err *err)
{
    char idx[16], n[24], base[24], parallel[16];
    snprintf(n, sizeof n, "%zu", json_array_size(items));
    snprintf(parallel, sizeof parallel, "%d", max_parallel);
    char *items_text = json_dumps(items, JSON_COMPACT);
    PGresult *r = NULL;
    weft_status st = weft_store_begin(s, err);
    if (!st)
        st = map_wait(s, uid, attempt, idx, err);
    if (!st) {
        const char *p[] = {wf, n};
        st = weft_store_run(s, WEFT_SQL_MAP_GROW, p, &r, err);
    }
    if (!st) {
        if (PQntuples(r) == 0) {
            st = WEFT_ESTALE;
        } else {
            snprintf(base, sizeof base, "%s", PQgetvalue(r, 0, 0));
            size_t total = strtoull(base, NULL, 10) + json_array_size(items);
            if (total > max_activities)
                st = weft_err_set(err, WEFT_ETOOBIG,
                                  "%zu items would make the workflow %zu activities, over the "
                                  "limit of %zu per workflow",
                                  json_array_size(items), total, max_activities);
        }
        PQclear(r);
    }
    if (!st) {
        const char *p[] = {wf, idx, base, items_text, parallel};
        st = weft_store_run(s, WEFT_SQL_MAP_INSTANCES, p, &r, err);
        if (!st) {
            weft_store_append_dispatches(r, dispatch);
            PQclear(r);
        }
    }
    free(items_text);
    st = weft_store_finish_tx(s, st, err);
    if (!st)
        weft_store_refresh_statistics(s, wf);
    return st;
}

weft_status weft_store_map_resume(weft_store *s, const char *wf, const char *uid, int attempt,
                                  int max_parallel, weft_dispatch_list *dispatch, bool *completed,
                                  weft_err *err)
{
    *completed = false;
    char idx[16], parallel[16], att[16];
    snprintf(parallel, sizeof parallel, "%d", max_parallel);
    snprintf(att, sizeof att, "%d", attempt);
    PGresult *r;
    weft_status st = weft_store_begin(s, err);
    if (!st)
        st = map_wait(s, uid, attempt, idx, err);
    if (!st) {
        const char *p[] = {wf, idx, parallel};
        st = weft_store_run(s, WEFT_SQL_MAP_RESUME, p, &r, err);
    }
    if (!st) {
        /* nothing queued, nothing to queue: every instance completed before the resume (the
         * resume gives back only failed and canceled ones, as pending) */
        *completed = PQntuples(r) == 0;
        weft_store_append_dispatches(r, dispatch);
        PQclear(r);
    }
    if (!st && *completed) {
        const char *p[] = {uid, att};
        st = weft_store_run(s, WEFT_SQL_MAP_COMPLETE, p, NULL, err);
    }
    return weft_store_finish_tx(s, st, err);
}

static weft_status child_wait(weft_store *s, const char *uid, int attempt, const char *child_uid,
                              weft_err *err)
{
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {uid, att, child_uid};
    PGresult *r;
    weft_status st = weft_store_run(s, WEFT_SQL_CHILD_WAIT, p, &r, err);
    if (st)
        return st;
    st = PQntuples(r) == 0 ? WEFT_ESTALE : WEFT_OK;
    PQclear(r);
    return st;
}

weft_status weft_store_start_child(weft_store *s, const char *wf, const char *uid, int attempt,
                                   const char *child_uid, const weft_definition *def,
                                   const json_t *doc, const json_t *inputs,
                                   weft_dispatch_list *dispatch, bool *existed, weft_err *err)
{
    *existed = false;
    weft_status st = weft_store_begin(s, err);
    if (!st)
        st = child_wait(s, uid, attempt, child_uid, err);
    if (!st)
        st = weft_store_insert_workflow(s, child_uid, def, doc, inputs, wf, uid, dispatch, existed,
                                        err);
    st = weft_store_finish_tx(s, st, err);
    if (!st && !*existed)
        weft_store_refresh_statistics(s, child_uid);
    return st;
}

weft_status weft_store_child_wait(weft_store *s, const char *uid, int attempt,
                                  const char *child_uid, weft_err *err)
{
    weft_status st = weft_store_ensure(s, err);
    return st ? st : child_wait(s, uid, attempt, child_uid, err);
}

weft_status weft_store_child_status(weft_store *s, const char *uid, weft_workflow_status *status,
                                    weft_err *err)
{
    PGresult *r;
    weft_status st = weft_store_query_row(s, WEFT_SQL_CHILD_STATUS, uid, "workflow", &r, err);
    if (st)
        return st;
    st = weft_store_workflow_status(r, 0, 0, status, err);
    PQclear(r);
    return st;
}

weft_status weft_store_children(weft_store *s, const char *uid, json_t **out, weft_err *err)
{
    *out = NULL;
    const char *p[] = {uid};
    PGresult *r;
    weft_status st = weft_store_query(s, WEFT_SQL_CHILDREN, p, &r, err);
    if (st)
        return st;
    *out = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(*out, json_string(PQgetvalue(r, i, 0)));
    PQclear(r);
    return WEFT_OK;
}

weft_status weft_store_child_settled(weft_store *s, const char *uid, weft_dispatch_list *dispatch,
                                     weft_err *err)
{
    const char *p[] = {uid};
    PGresult *r;
    weft_status st = weft_store_query(s, WEFT_SQL_CHILD_SETTLED, p, &r, err);
    if (st)
        return st;
    for (int i = 0; i < PQntuples(r); i++) {
        weft_store_dispatch_add(dispatch, PQgetvalue(r, i, 1), atoi(PQgetvalue(r, i, 2)), 0, NULL);
        weft_dispatch *d = &dispatch->items[dispatch->n - 1];
        d->handoff = true;
        snprintf(d->workflow_uid, sizeof d->workflow_uid, "%s", PQgetvalue(r, i, 0));
    }
    PQclear(r);
    return WEFT_OK;
}

#include "store_activity.h"

#include "alloc.h"
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void weft_claim_finish(weft_claim *c)
{
    free(c->name);
    free(c->task);
    json_decref(c->params);
    json_decref(c->inputs);
    json_decref(c->upstream);
    json_decref(c->map);
    free(c->upstream_ordered);
    json_decref(c->concurrency);
    memset(c, 0, sizeof *c);
}

weft_status weft_store_activity_state(weft_store *s, const char *uid, weft_activity_state *state,
                                      weft_err *err)
{
    PGresult *r;
    weft_status st = weft_store_query_row(s, WEFT_SQL_ACTIVITY_STATE, uid, "activity", &r, err);
    if (st)
        return st;
    snprintf(state->workflow_uid, sizeof state->workflow_uid, "%s", PQgetvalue(r, 0, 0));
    state->attempt = atoi(PQgetvalue(r, 0, 2));
    state->handed_off = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
    state->priority = atoi(PQgetvalue(r, 0, 4));
    weft_store_read_retry(r, 0, 5, &state->retries, &state->retry);
    state->due_in_ms = atoi(PQgetvalue(r, 0, 10));
    state->workflow_running = strcmp(PQgetvalue(r, 0, 11), "t") == 0;
    state->lease_expired = strcmp(PQgetvalue(r, 0, 12), "t") == 0;
    snprintf(state->queue, sizeof state->queue, "%s", PQgetvalue(r, 0, 13));
    state->awaiting = strcmp(PQgetvalue(r, 0, 14), "t") == 0;
    st = weft_store_activity_status(r, 0, 1, &state->status, err);
    PQclear(r);
    return st;
}

weft_status weft_store_claim(weft_store *s, const char *workflow_uid, const char *uid, int attempt,
                             const char *worker, const char *worker_id, int lease_s,
                             weft_claim *claim, weft_activity_state *state, weft_err *err)
{
    memset(claim, 0, sizeof *claim);
    char att[16], lease[16];
    snprintf(att, sizeof att, "%d", attempt);
    snprintf(lease, sizeof lease, "%d", lease_s);
    const char *p[] = {uid, att, worker, workflow_uid, lease, worker_id};
    PGresult *r;
    weft_status st = weft_store_query(s, WEFT_SQL_CLAIM, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        st = weft_store_activity_state(s, uid, state, err);
        return st ? st : WEFT_ESTALE;
    }
    claim->name = weft_xstrdup(PQgetvalue(r, 0, 0));
    claim->task = weft_xstrdup(PQgetvalue(r, 0, 1));
    claim->params = weft_store_json(r, 0, 2);
    claim->priority = atoi(PQgetvalue(r, 0, 3));
    claim->timeout_s = atoi(PQgetvalue(r, 0, 4));
    weft_store_read_retry(r, 0, 5, &claim->retries, &claim->retry);
    claim->inputs = weft_store_json(r, 0, 10);
    json_t *up = weft_store_json(r, 0, 11);
    snprintf(claim->queue, sizeof claim->queue, "%s", PQgetvalue(r, 0, 12));
    claim->heartbeat_s = atoi(PQgetvalue(r, 0, 13));
    claim->map = PQgetisnull(r, 0, 14) ? NULL : weft_store_json(r, 0, 14);
    claim->map_instance = strcmp(PQgetvalue(r, 0, 15), "t") == 0;
    claim->map_expanded = strcmp(PQgetvalue(r, 0, 16), "t") == 0;
    snprintf(claim->child_uid, sizeof claim->child_uid, "%s", PQgetvalue(r, 0, 17));
    claim->concurrency = PQgetisnull(r, 0, 18) ? NULL : weft_store_json(r, 0, 18);
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
    weft_status st = weft_store_query(s, WEFT_SQL_COMPLETE, p, &r, err);
    free(in);
    free(out);
    if (st)
        return st;
    st = PQntuples(r) == 0 ? WEFT_ESTALE : WEFT_OK;
    PQclear(r);
    return st;
}

weft_status weft_store_fail(weft_store *s, const char *uid, int attempt, const char *error,
                            bool retry, int delay_ms, bool only_expired, int *next_attempt,
                            bool *retrying, weft_err *err)
{
    char att[16], delay[16];
    snprintf(att, sizeof att, "%d", attempt);
    snprintf(delay, sizeof delay, "%d", delay_ms);
    const char *p[] = {
        uid, att, error, retry ? "true" : "false", delay, only_expired ? "true" : "false"};
    PGresult *r;
    weft_status st = weft_store_query(s, WEFT_SQL_FAIL, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0) {
        st = WEFT_ESTALE;
    } else {
        *next_attempt = atoi(PQgetvalue(r, 0, 0));
        *retrying = strcmp(PQgetvalue(r, 0, 1), "retrying") == 0;
    }
    PQclear(r);
    return st;
}

/* Runs a compare-and-set statement over (uid, attempt[, a[, b]]) (the statement takes as
 * many as it names): WEFT_ESTALE when it matched no row. */
/* A compare-and-set on (uid, attempt) with up to two more parameters: WEFT_ESTALE when no
 * row came back. *first (may be NULL) gets the first column of the row: its text is
 * copied into first (size firstlen). */
static weft_status attempt_cas(weft_store *s, weft_sql_id which, const char *uid, int attempt,
                               const char *a, const char *b, char *first, size_t firstlen,
                               weft_err *err)
{
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {uid, att, a, b};
    PGresult *r;
    weft_status st = weft_store_query(s, which, p, &r, err);
    if (st)
        return st;
    st = PQntuples(r) ? WEFT_OK : WEFT_ESTALE;
    if (!st && first)
        snprintf(first, firstlen, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return st;
}

weft_status weft_store_release(weft_store *s, const char *uid, int attempt, bool *canceled,
                               weft_err *err)
{
    char was_canceled[8] = "";
    weft_status st = attempt_cas(s, WEFT_SQL_RELEASE, uid, attempt, NULL, NULL, was_canceled,
                                 sizeof was_canceled, err);
    if (canceled)
        *canceled = !st && was_canceled[0] == 't';
    return st;
}

weft_status weft_store_renew_lease(weft_store *s, const char *uid, int attempt, int lease_s,
                                   bool *canceled, weft_err *err)
{
    char lease[16], status[32] = "";
    snprintf(lease, sizeof lease, "%d", lease_s);
    weft_status st = attempt_cas(s, WEFT_SQL_LEASE_RENEW, uid, attempt, lease, NULL, status,
                                 sizeof status, err);
    if (canceled)
        *canceled = !st && strcmp(status, "canceled") == 0;
    return st;
}

weft_status weft_store_progress(weft_store *s, const char *uid, int attempt, double progress,
                                const char *message, weft_err *err)
{
    char pct[32];
    snprintf(pct, sizeof pct, "%.3f", progress);
    return attempt_cas(s, WEFT_SQL_PROGRESS, uid, attempt, pct, message, NULL, 0, err);
}

/* What weft_handoff says it did, in the o_outcome of its last row. */
typedef enum {
    HANDOFF_NO_OUTCOME,
    HANDOFF_HANDED_OFF,
    HANDOFF_DUPLICATE,
    HANDOFF_STALE,
    HANDOFF_UNKNOWN_WORKFLOW,
    HANDOFF_UNKNOWN_ACTIVITY,
} handoff_outcome;

static handoff_outcome parse_outcome(const char *name)
{
    static const struct {
        const char *name;
        handoff_outcome outcome;
    } names[] = {
        {"handed_off", HANDOFF_HANDED_OFF},
        {"duplicate", HANDOFF_DUPLICATE},
        {"stale", HANDOFF_STALE},
        {"unknown_workflow", HANDOFF_UNKNOWN_WORKFLOW},
        {"unknown_activity", HANDOFF_UNKNOWN_ACTIVITY},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].outcome;
    return HANDOFF_NO_OUTCOME;
}

/* Runs the handoff statement of one attempt (run: inside the caller's transaction, else on
 * its own) and reads its rows into dispatch and *workflow_status. */
static weft_status handoff_one(weft_store *s, bool in_tx, const char *workflow_uid,
                               const char *uid, int attempt, weft_dispatch_list *dispatch,
                               weft_workflow_status *workflow_status, weft_err *err)
{
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {workflow_uid, uid, att};
    PGresult *r;
    weft_status st = in_tx ? weft_store_run(s, WEFT_SQL_HANDOFF, p, &r, err)
                           : weft_store_query(s, WEFT_SQL_HANDOFF, p, &r, err);
    if (st)
        return st;
    handoff_outcome outcome = HANDOFF_NO_OUTCOME;
    int outcome_row = -1;
    for (int i = 0; i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, 2)) {
            outcome = parse_outcome(PQgetvalue(r, i, 1));
            outcome_row = i;
        } else {
            weft_store_dispatch_add(dispatch, PQgetvalue(r, i, 2), atoi(PQgetvalue(r, i, 3)),
                                    atoi(PQgetvalue(r, i, 4)),
                                    PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5));
            if (strcmp(PQgetvalue(r, i, 1), "parent") == 0) {
                /* a child workflow settled its parent activity: that one's handoff is due */
                weft_dispatch *d = &dispatch->items[dispatch->n - 1];
                d->handoff = true;
                snprintf(d->workflow_uid, sizeof d->workflow_uid, "%s", PQgetvalue(r, i, 6));
            }
        }
    }
    switch (outcome) {
    case HANDOFF_HANDED_OFF:
    case HANDOFF_DUPLICATE:
        st = weft_store_workflow_status(r, outcome_row, 0, workflow_status, err);
        break;
    case HANDOFF_STALE:
        st = weft_store_workflow_status(r, outcome_row, 0, workflow_status, err);
        st = st ? st : WEFT_ESTALE;
        break;
    case HANDOFF_UNKNOWN_WORKFLOW:
        st = weft_err_set(err, WEFT_ENOTFOUND, "unknown workflow %s", workflow_uid);
        break;
    case HANDOFF_UNKNOWN_ACTIVITY:
        st = weft_err_set(err, WEFT_ENOTFOUND, "unknown activity %s in workflow %s", uid,
                          workflow_uid);
        break;
    case HANDOFF_NO_OUTCOME:
        st = weft_err_set(err, WEFT_EDB, "postgres: statement 'handoff' returned no outcome");
        break;
    }
    PQclear(r);
    return st;
}

weft_status weft_store_handoff(weft_store *s, const char *workflow_uid, const char *uid,
                               int attempt, weft_dispatch_list *dispatch,
                               weft_workflow_status *workflow_status, weft_err *err)
{
    return handoff_one(s, false, workflow_uid, uid, attempt, dispatch, workflow_status, err);
}

weft_status weft_store_handoff_batch(weft_store *s, weft_handoff_item *items, size_t n,
                                     weft_err *err)
{
    weft_status st = weft_store_begin(s, err);
    for (size_t i = 0; !st && i < n; i++) {
        weft_handoff_item *it = &items[i];
        it->status = WEFT_WORKFLOW_RUNNING;
        st = handoff_one(s, true, it->workflow_uid, it->uid, it->attempt, &it->dispatch,
                         &it->status, err);
        it->stale = st == WEFT_ESTALE;
        if (st == WEFT_ESTALE)
            st = WEFT_OK;
    }
    return weft_store_finish_tx(s, st, err);
}

weft_status weft_store_activities(weft_store *s, const char *uid, json_t **out, weft_err *err)
{
    const char *p[] = {uid};
    return weft_store_query_json(s, WEFT_SQL_ACTIVITIES, p, "activity list", out, err);
}

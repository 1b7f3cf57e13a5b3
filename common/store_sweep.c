#include "store_sweep.h"

#include "alloc.h"
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>

void weft_lost_attempts_finish(weft_lost_attempts *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* Runs one sweep statement with (secs, limit): rows (uid, attempt, priority, queue,
 * workflow_uid) go to out. */
static weft_status sweep_into(weft_store *s, weft_sql_id which, int older_than_s, int limit,
                              weft_dispatch_list *out, weft_err *err)
{
    char secs[16], lim[16];
    snprintf(secs, sizeof secs, "%d", older_than_s);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *p[] = {secs, lim};
    PGresult *r;
    weft_status st = weft_store_query(s, which, p, &r, err);
    if (st)
        return st;
    size_t first = out->n;
    weft_store_append_dispatches(r, out);
    for (int i = 0; i < PQntuples(r); i++)
        snprintf(out->items[first + (size_t)i].workflow_uid, WEFT_UUID_LEN + 1, "%s",
                 PQgetvalue(r, i, 4));
    PQclear(r);
    return WEFT_OK;
}

weft_status weft_store_sweep_dispatches(weft_store *s, int older_than_s, int limit,
                                        weft_dispatch_list *out, weft_err *err)
{
    return sweep_into(s, WEFT_SQL_SWEEP, older_than_s, limit, out, err);
}

weft_status weft_store_sweep_handoffs(weft_store *s, int older_than_s, int limit,
                                      weft_dispatch_list *out, weft_err *err)
{
    return sweep_into(s, WEFT_SQL_SWEEP_HANDOFFS, older_than_s, limit, out, err);
}

weft_status weft_store_sweep_leases(weft_store *s, int limit, weft_lost_attempts *out,
                                    weft_err *err)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *p[] = {lim};
    PGresult *r;
    weft_status st = weft_store_query(s, WEFT_SQL_SWEEP_LEASES, p, &r, err);
    if (st)
        return st;
    weft_dispatch_list d = {0};
    weft_store_append_dispatches(r, &d);
    int n = PQntuples(r);
    out->items = weft_xrealloc(out->items, (out->n + (size_t)n) * sizeof *out->items);
    for (int i = 0; i < n; i++) {
        weft_lost_attempt *a = &out->items[out->n++];
        a->at = d.items[i];
        snprintf(a->at.workflow_uid, sizeof a->at.workflow_uid, "%s", PQgetvalue(r, i, 4));
        weft_store_read_retry(r, i, 5, &a->retries, &a->retry);
        a->expired_s = atoi(PQgetvalue(r, i, 10));
    }
    weft_dispatch_list_finish(&d);
    PQclear(r);
    return WEFT_OK;
}

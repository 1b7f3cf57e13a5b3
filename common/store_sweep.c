#include "store_sweep.h"

#include "store_internal.h"

#include <stdio.h>

/* Runs one sweep statement: rows (uid, attempt, priority, workflow_uid) go to out. */
static weft_status sweep_into(weft_store *s, weft_sql_id which, const char *secs,
                              weft_dispatch_list *out, weft_err *err)
{
    const char *p[] = {secs};
    PGresult *r;
    weft_status st = weft_store_query(s, which, p, &r, err);
    if (st)
        return st;
    size_t first = out->n;
    weft_store_append_dispatches(r, out);
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

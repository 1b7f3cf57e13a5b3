#include "store_view.h"

#include "store_internal.h"

#include <stdio.h>

/* Runs a statement whose one row, one column is a JSON array. */
static weft_status json_rows(weft_store *s, weft_sql_id which, const char *const *p,
                             const char *what, json_t **out, weft_err *err)
{
    PGresult *r;
    weft_status st = weft_store_query(s, which, p, &r, err);
    if (st)
        return st;
    *out = weft_store_json(r, 0, 0);
    PQclear(r);
    return *out ? WEFT_OK : weft_err_set(err, WEFT_EDB, "postgres: unreadable %s", what);
}

weft_status weft_store_list_workflows(weft_store *s, const weft_workflow_filter *f, json_t **out,
                                      weft_err *err)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", f->limit);
    const char *p[] = {f->status, f->name, limit};
    return json_rows(s, WEFT_SQL_WORKFLOW_LIST, p, "workflow list", out, err);
}

weft_status weft_store_workflow_edges(weft_store *s, const char *uid, json_t **out, weft_err *err)
{
    const char *p[] = {uid};
    return json_rows(s, WEFT_SQL_WORKFLOW_EDGES, p, "activity graph", out, err);
}

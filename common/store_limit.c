#include "store_limit.h"

#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

weft_status weft_store_limit_set(weft_store *s, const char *task, int concurrency, double per_s,
                                 const char *rate_text, weft_err *err)
{
    char conc[16], rate[32];
    snprintf(conc, sizeof conc, "%d", concurrency);
    snprintf(rate, sizeof rate, "%.17g", per_s);
    const char *p[] = {task, concurrency > 0 ? conc : NULL, rate_text ? rate : NULL, rate_text};
    PGresult *r;
    weft_status st = weft_store_query(s, WEFT_SQL_LIMIT_SET, p, &r, err);
    if (!st)
        PQclear(r);
    return st;
}

weft_status weft_store_limit_clear(weft_store *s, const char *task, bool *found, weft_err *err)
{
    const char *p[] = {task};
    PGresult *r;
    weft_status st = weft_store_query(s, WEFT_SQL_LIMIT_CLEAR, p, &r, err);
    if (st)
        return st;
    *found = PQntuples(r) > 0;
    PQclear(r);
    return WEFT_OK;
}

weft_status weft_store_limits(weft_store *s, json_t **out, weft_err *err)
{
    return weft_store_query_json(s, WEFT_SQL_LIMITS, NULL, "limit list", out, err);
}

weft_status weft_store_limit_wait(weft_store *s, const char *uid, int attempt, const char *reason,
                                  weft_err *err)
{
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {uid, att, reason};
    PGresult *r;
    weft_status st = weft_store_query(s, WEFT_SQL_LIMIT_WAIT, p, &r, err);
    if (st)
        return st;
    bool changed = strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    return changed ? WEFT_OK : WEFT_ESTALE;
}

#include "store_definition.h"

#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>

weft_status weft_store_define(weft_store *s, const char *name, const json_t *definition,
                              int *version, bool *created, weft_err *err)
{
    char *text = json_dumps(definition, JSON_COMPACT);
    const char *p[] = {name, text};
    PGresult *r = NULL;
    weft_status st = weft_store_begin(s, err);
    if (!st)
        st = weft_store_run(s, WEFT_SQL_DEFINE_LOCK, p, NULL, err);
    if (!st)
        st = weft_store_run(s, WEFT_SQL_DEFINE, p, &r, err);
    if (!st) {
        *version = atoi(PQgetvalue(r, 0, 0));
        *created = PQgetvalue(r, 0, 1)[0] == 't';
    }
    PQclear(r);
    free(text);
    return weft_store_finish_tx(s, st, err);
}

weft_status weft_store_definition(weft_store *s, const char *name, int version,
                                  json_t **definition, int *found_version, weft_err *err)
{
    *definition = NULL;
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *p[] = {name, version > 0 ? v : NULL};
    PGresult *r;
    weft_status st = weft_store_query(s, WEFT_SQL_DEFINITION_GET, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0) {
        st = version > 0 ? weft_err_set(err, WEFT_ENOTFOUND, "definition '%s' has no version %d",
                                        name, version)
                         : weft_err_set(err, WEFT_ENOTFOUND, "unknown definition '%s'", name);
    } else {
        *found_version = atoi(PQgetvalue(r, 0, 0));
        *definition = weft_store_json(r, 0, 1);
    }
    PQclear(r);
    return st;
}

weft_status weft_store_definitions(weft_store *s, json_t **out, weft_err *err)
{
    PGresult *r;
    weft_status st = weft_store_query(s, WEFT_SQL_DEFINITIONS, NULL, &r, err);
    if (st)
        return st;
    *out = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(
            *out, json_pack("{s:s, s:i, s:i, s:s, s:s}", "name", PQgetvalue(r, i, 0),
                            "latest_version", atoi(PQgetvalue(r, i, 1)), "versions",
                            atoi(PQgetvalue(r, i, 2)), "created_at", PQgetvalue(r, i, 3),
                            "updated_at", PQgetvalue(r, i, 4)));
    PQclear(r);
    return WEFT_OK;
}

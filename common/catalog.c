#include "catalog.h"

#include "alloc.h"

struct weft_catalog {
    weft_task_registry *known; /* owned: names only, the local ones and those read since */
};

weft_catalog *weft_catalog_create(const weft_task_registry *local)
{
    weft_catalog *c = weft_xcalloc(1, sizeof *c);
    c->known = weft_task_registry_create();
    for (size_t i = 0; i < weft_task_count(local); i++)
        weft_task_declare(c->known, weft_task_name(local, i));
    return c;
}

void weft_catalog_destroy(weft_catalog *c)
{
    if (!c)
        return;
    weft_task_registry_destroy(c->known);
    free(c);
}

weft_status weft_catalog_parse(weft_catalog *c, weft_store *s, const json_t *doc,
                               const weft_limits *limits, weft_definition **out, weft_err *err)
{
    weft_status st = weft_definition_parse(doc, limits, c->known, out, err);
    if (st != WEFT_ENOTFOUND)
        return st;
    /* an unknown name: maybe a worker declared it since the last read */
    size_t added = 0;
    weft_err rerr = {0};
    weft_status rst = weft_store_task_types(s, c->known, &added, &rerr);
    if (rst) {
        if (err)
            *err = rerr;
        return rst;
    }
    return added > 0 ? weft_definition_parse(doc, limits, c->known, out, err) : st;
}

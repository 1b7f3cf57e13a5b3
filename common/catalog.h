/* The task catalog: the task types a definition may name (DESIGN §9). They are the ones the
 * caller knows itself (the built-in tasks and its own task file's, handed over as a registry)
 * and every type a registered worker ever declared (store_worker.h).
 *
 * The workers' part is a cache, read from Postgres whenever a definition names a type the
 * catalog lacks, so a worker that registered a moment ago is seen at once and a definition of
 * known names costs no query. The set only grows (no type is
 * ever forgotten by the registry either), so the cache is never stale in the direction that
 * refuses a definition wrongly. A catalog is used by one thread at a time. */
#ifndef WEFT_CATALOG_H
#define WEFT_CATALOG_H

#include "definition.h"
#include "status.h"
#include "store.h"
#include "task.h"

#include <jansson.h>

typedef struct weft_catalog weft_catalog;

/* A new catalog knowing the names of local (borrowed, read at once); free with
 * weft_catalog_destroy (accepts NULL). */
weft_catalog *weft_catalog_create(const weft_task_registry *local);
void weft_catalog_destroy(weft_catalog *c);

/* weft_definition_parse of doc (borrowed) against the catalog, reading the workers' task types
 * from s (borrowed) first when it names one the catalog lacks. A type still unknown then is
 * WEFT_ENOTFOUND: "activity 'x': unknown task 'y' (known: ...)". WEFT_EDB when the task types
 * cannot be read: no verdict on the definition (retry). */
weft_status weft_catalog_parse(weft_catalog *c, weft_store *s, const json_t *doc,
                               const weft_limits *limits, weft_definition **out, weft_err *err);

#endif

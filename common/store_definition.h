/* The store's named definitions (DESIGN §11).
 *
 * A definition is stored under its `name` as versions 1, 2, ...; a version never changes
 * once written. Defining what equals the latest version stores nothing and answers that
 * version, so a deploy script may define its files every time. A create message may name a
 * definition (and a version, else the latest) instead of carrying one: the workflow then
 * keeps its own copy, so a later version changes no workflow already created.
 *
 * Who writes what: `weft define` (the CLI) stores; weft-entry and the CLI read. */
#ifndef WEFT_STORE_DEFINITION_H
#define WEFT_STORE_DEFINITION_H

#include "store.h"

#include <jansson.h>
#include <stdbool.h>

/* Stores definition (borrowed, already validated) under name (borrowed) as its next
 * version, or finds it equal to the latest. *version gets the version, *created whether it
 * is new. */
weft_status weft_store_define(weft_store *s, const char *name, const json_t *definition,
                              int *version, bool *created, weft_err *err);

/* Version `version` of the definition named name (borrowed), or its latest when version is
 * 0: *definition is new (json_decref), *found_version its version. WEFT_ENOTFOUND ("unknown
 * definition 'NAME'" or "definition 'NAME' has no version N") when there is none. */
weft_status weft_store_definition(weft_store *s, const char *name, int version,
                                  json_t **definition, int *found_version, weft_err *err);

/* Every named definition as a new array of {"name", "latest_version", "versions",
 * "created_at", "updated_at"}, by name. */
weft_status weft_store_definitions(weft_store *s, json_t **out, weft_err *err);

#endif

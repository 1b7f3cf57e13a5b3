/* The dashboard's static files (entry/dashboard/), embedded in weft-entry at build time by
 * entry/dashboard/embed.py: the binary serves them from memory, so an installed or
 * containerized weft-entry needs no data folder to find, and the page always matches the
 * API of the binary that serves it. */
#ifndef WEFT_DASHBOARD_H
#define WEFT_DASHBOARD_H

#include <stddef.h>

typedef struct {
    const char *name;         /* "index.html": the file's name in entry/dashboard/ */
    const char *content_type; /* from its extension */
    const char *data;
    size_t len;
} weft_dashboard_file;

/* The file called name (borrowed), or NULL; the result is static. */
const weft_dashboard_file *weft_dashboard_find(const char *name);

#endif

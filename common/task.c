#include "task.h"

#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where weft_task_list stops listing names and counts the rest. */
#define LIST_MAX_CHARS 300

typedef struct {
    char *name;
    weft_task_fn fn;
} task_entry;

struct weft_task_registry {
    task_entry *entries;
    size_t n, cap;
};

weft_task_registry *weft_task_registry_create(void)
{
    return weft_xcalloc(1, sizeof(weft_task_registry));
}

void weft_task_registry_destroy(weft_task_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->entries[i].name);
    free(r->entries);
    free(r);
}

static const task_entry *find(const weft_task_registry *r, const char *name)
{
    for (size_t i = 0; r && i < r->n; i++)
        if (strcmp(r->entries[i].name, name) == 0)
            return &r->entries[i];
    return NULL;
}

static bool add(weft_task_registry *r, const char *name, weft_task_fn fn)
{
    if (!name || !*name || find(r, name))
        return false;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->entries = weft_xrealloc(r->entries, r->cap * sizeof *r->entries);
    }
    r->entries[r->n++] = (task_entry){weft_xstrdup(name), fn};
    return true;
}

bool weft_task_register(weft_task_registry *r, const char *name, weft_task_fn fn)
{
    return fn && add(r, name, fn);
}

bool weft_task_declare(weft_task_registry *r, const char *name)
{
    return add(r, name, NULL);
}

weft_task_fn weft_task_lookup(const weft_task_registry *r, const char *name)
{
    const task_entry *e = find(r, name);
    return e ? e->fn : NULL;
}

bool weft_task_known(const weft_task_registry *r, const char *name)
{
    return find(r, name) != NULL;
}

size_t weft_task_count(const weft_task_registry *r)
{
    return r ? r->n : 0;
}

const char *weft_task_name(const weft_task_registry *r, size_t i)
{
    return r && i < r->n ? r->entries[i].name : NULL;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *weft_task_list(const weft_task_registry *r)
{
    size_t n = weft_task_count(r);
    if (n == 0)
        return weft_xstrdup("none");
    const char **names = weft_xcalloc(n, sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = r->entries[i].name;
    qsort(names, n, sizeof *names, cmp_name);
    char *out = weft_xmalloc(LIST_MAX_CHARS + 64);
    size_t len = 0, i = 0;
    out[0] = '\0';
    for (; i < n && len + strlen(names[i]) + 2 <= LIST_MAX_CHARS; i++)
        len +=
            (size_t)snprintf(out + len, LIST_MAX_CHARS + 64 - len, "%s%s", i ? ", " : "", names[i]);
    if (i < n)
        snprintf(out + len, LIST_MAX_CHARS + 64 - len, "%s..., and %zu more", i ? ", " : "", n - i);
    free(names);
    return out;
}

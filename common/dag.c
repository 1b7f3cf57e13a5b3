/* Graph logic over a parsed definition. Walks are iterative with explicit stacks: a
 * 10,000-long chain is a legal workflow and must not depend on the size of the C stack. */
#include "dag.h"

#include "alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The dependency edges of a cycle read in the direction they were written. */
static const char cycle_suffix[] = " (each activity depends on the next)";

/* Appends to a fixed buffer, keeping it NUL-terminated when it runs out. */
static __attribute__((format(printf, 4, 5))) void append(char *buf, size_t cap, size_t *pos,
                                                         const char *fmt, ...)
{
    if (*pos + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *pos, cap - *pos, fmt, ap);
    va_end(ap);
    if (w > 0)
        *pos += (size_t)w;
    if (*pos >= cap)
        *pos = cap - 1;
}

/* "cycle: a -> b -> c -> a": cyc[k + 1] is a dependency of cyc[k], and the last depends on
 * cyc[0]. A long cycle keeps its head and its closing edge and says how much was left out,
 * so the message still fits on one line. */
static weft_status cycle_error(const weft_definition *def, const size_t *cyc, size_t len,
                               weft_err *err)
{
    char buf[sizeof err->msg];
    size_t pos = 0;
    const char *first = def->activities[cyc[0]].name;
    /* Room kept for " -> ... (N more)", the closing " -> first" and the suffix. */
    size_t tail = 32 + 4 + strlen(first) + sizeof cycle_suffix;

    append(buf, sizeof buf, &pos, "cycle: %s", first);
    for (size_t k = 1; k < len; k++) {
        const char *name = def->activities[cyc[k]].name;
        if (pos + 4 + strlen(name) + tail >= sizeof buf) {
            append(buf, sizeof buf, &pos, " -> ... (%zu more)", len - k);
            break;
        }
        append(buf, sizeof buf, &pos, " -> %s", name);
    }
    append(buf, sizeof buf, &pos, " -> %s", first);
    append(buf, sizeof buf, &pos, "%s", cycle_suffix);
    return weft_err_set(err, WEFT_EINVAL, "%s", buf);
}

weft_status weft_dag_check_acyclic(const weft_definition *def, weft_err *err)
{
    enum { UNSEEN, ON_PATH, DONE };
    size_t n = def->n;
    unsigned char *state = weft_xcalloc(n, 1);
    size_t *next = weft_xcalloc(n, sizeof *next); /* next dependency to visit, per node */
    size_t *path = weft_xmalloc(n * sizeof *path);
    size_t *depth = weft_xmalloc(n * sizeof *depth); /* position on path while ON_PATH */
    weft_status st = WEFT_OK;

    for (size_t root = 0; root < n && !st; root++) {
        if (state[root] != UNSEEN)
            continue;
        size_t len = 0;
        path[len] = root;
        depth[root] = len++;
        state[root] = ON_PATH;
        while (len > 0 && !st) {
            size_t v = path[len - 1];
            const weft_activity_def *a = &def->activities[v];
            if (next[v] == a->ndeps) {
                state[v] = DONE;
                len--;
                continue;
            }
            size_t w = a->deps[next[v]++];
            if (state[w] == ON_PATH) {
                st = cycle_error(def, path + depth[w], len - depth[w], err);
            } else if (state[w] == UNSEEN) {
                path[len] = w;
                depth[w] = len++;
                state[w] = ON_PATH;
            }
        }
    }
    free(state);
    free(next);
    free(path);
    free(depth);
    return st;
}

void weft_dag_downstream(const weft_definition *def, size_t ***out, size_t **counts)
{
    size_t n = def->n;
    size_t **down = weft_xcalloc(n, sizeof *down);
    size_t *cnt = weft_xcalloc(n, sizeof *cnt);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < def->activities[i].ndeps; k++)
            cnt[def->activities[i].deps[k]]++;
    for (size_t j = 0; j < n; j++)
        down[j] = weft_xmalloc(cnt[j] * sizeof **down);
    /* Filling in increasing i keeps each list in definition order. */
    size_t *fill = weft_xcalloc(n, sizeof *fill);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < def->activities[i].ndeps; k++) {
            size_t j = def->activities[i].deps[k];
            down[j][fill[j]++] = i;
        }
    free(fill);
    *out = down;
    *counts = cnt;
}

void weft_dag_free_downstream(size_t **down, size_t *counts, size_t n)
{
    if (down)
        for (size_t i = 0; i < n; i++)
            free(down[i]);
    free(down);
    free(counts);
}

size_t weft_dag_ready(const weft_definition *def, const bool *completed, size_t *ready)
{
    size_t nready = 0;
    for (size_t i = 0; i < def->n; i++) {
        const weft_activity_def *a = &def->activities[i];
        if (completed && completed[i])
            continue;
        size_t k = 0;
        while (k < a->ndeps && completed && completed[a->deps[k]])
            k++;
        if (k == a->ndeps)
            ready[nready++] = i;
    }
    return nready;
}

/* jansson reports exhaustion as NULL; weft's one answer to that is to abort (alloc.h). */
static json_t *new_object(void)
{
    json_t *o = json_object();
    if (!o)
        abort();
    return o;
}

/* Values are shared, not copied: outputs and params are immutable by convention, and
 * setting a key on the result never reaches back into an argument. */
static void merge_into(json_t *dst, const json_t *src)
{
    if (json_is_object(src) && json_object_update(dst, (json_t *)src) != 0)
        abort();
}

json_t *weft_dag_merge_input(const json_t *inputs, const json_t *const *upstream, size_t n,
                             const json_t *params)
{
    json_t *merged = new_object();
    merge_into(merged, inputs);
    for (size_t i = 0; upstream && i < n; i++)
        merge_into(merged, upstream[i]);
    merge_into(merged, params);
    return merged;
}

#include "type_gate.h"

#include "alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *task;
    int limit, running;
} gate_type;

struct weft_type_gate {
    pthread_mutex_t mu;
    gate_type *types;
    size_t n;
};

weft_type_gate *weft_type_gate_create(const weft_taskfile *tf)
{
    weft_type_gate *g = weft_xcalloc(1, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    size_t cap = tf ? tf->n + tf->nhttp : 0;
    g->types = weft_xcalloc(cap + 1, sizeof *g->types);
    for (size_t i = 0; tf && i < tf->n; i++)
        if (tf->tasks[i].limit > 0)
            g->types[g->n++] = (gate_type){weft_xstrdup(tf->tasks[i].name), tf->tasks[i].limit, 0};
    for (size_t i = 0; tf && i < tf->nhttp; i++)
        if (tf->http[i].limit > 0)
            g->types[g->n++] = (gate_type){weft_xstrdup(tf->http[i].name), tf->http[i].limit, 0};
    return g;
}

void weft_type_gate_destroy(weft_type_gate *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        free(g->types[i].task);
    free(g->types);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static gate_type *find(weft_type_gate *g, const char *task)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->types[i].task, task) == 0)
            return &g->types[i];
    return NULL;
}

bool weft_type_gate_enter(weft_type_gate *g, const char *task)
{
    gate_type *t = find(g, task); /* the set never changes: read without the mutex */
    if (!t)
        return true;
    pthread_mutex_lock(&g->mu);
    bool ok = t->running < t->limit;
    if (ok)
        t->running++;
    pthread_mutex_unlock(&g->mu);
    return ok;
}

void weft_type_gate_leave(weft_type_gate *g, const char *task)
{
    gate_type *t = find(g, task);
    if (!t)
        return;
    pthread_mutex_lock(&g->mu);
    if (t->running > 0)
        t->running--;
    pthread_mutex_unlock(&g->mu);
}

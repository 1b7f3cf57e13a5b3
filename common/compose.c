#include "compose.h"

#include "alloc.h"
#include "dag.h"
#include "engine_internal.h"
#include "log.h"
#include "uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A cancel cascades at most this deep: children of children, and so on. Deeper trees are
 * a definition's mistake; their leaves are still stopped by their parents' failure. */
#define MAX_CASCADE_DEPTH 16

bool weft_compose_handles(const weft_claim *c)
{
    return (c->map && !c->map_instance) || strcmp(c->task, WEFT_TASK_WORKFLOW) == 0;
}

static const char *map_over(const weft_claim *c)
{
    return json_string_value(json_object_get(c->map, "over"));
}

void weft_compose_instance_input(const weft_claim *c, json_t *input)
{
    if (!c->map_instance || !map_over(c))
        return;
    const json_t *item = json_object_get(c->params, "item");
    /* the element's own member of that name stays, as the merge order gives it */
    if (!(json_is_object(item) && json_object_get(item, map_over(c))))
        json_object_del(input, map_over(c));
}

static json_t *merged_input(const weft_claim *c)
{
    return weft_dag_merge_input(c->inputs, (const json_t *const *)c->upstream_ordered,
                                c->nupstream, c->params);
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    default: return "an array";
    }
}

/* Completes activity m with output (borrowed) and hands it off. */
static weft_status complete(weft_engine *e, const weft_attempt_msg *m, const json_t *input,
                            const json_t *output, weft_err *err)
{
    weft_status st = weft_store_complete(e->store, m->activity_uid, m->attempt, input, output, err);
    if (st == WEFT_ESTALE)
        return WEFT_OK;
    return st ? st : weft_engine_publish_handoff(e, m, err);
}

static weft_status run_map(weft_engine *e, const weft_attempt_msg *m, const weft_claim *c,
                           weft_err *err)
{
    const char *over = map_over(c);
    int parallel = (int)json_integer_value(json_object_get(c->map, "max_parallel"));
    if (parallel < 1)
        parallel = WEFT_DEFAULT_MAP_PARALLEL;
    weft_dispatch_list l = {0};
    weft_status st;
    if (c->map_expanded) {
        /* resumed: its instances exist; completed ones keep their outputs */
        bool completed = false;
        st = weft_store_map_resume(e->store, m->workflow_uid, m->activity_uid, m->attempt,
                                   parallel, &l, &completed, err);
        if (!st && completed)
            st = weft_engine_publish_handoff(e, m, err);
        else if (!st)
            st = weft_engine_dispatch_all(e, m->workflow_uid, &l, err);
        if (!st)
            WEFT_LOG(WEFT_LOG_INFO, m->workflow_uid, m->activity_uid,
                     "map '%s' resumed: %zu instances dispatched%s", c->name, l.n,
                     completed ? ", every instance had completed" : "");
        weft_dispatch_list_finish(&l);
        return st == WEFT_ESTALE ? WEFT_OK : st;
    }
    json_t *input = merged_input(c);
    const json_t *items = json_object_get(input, over);
    char why[sizeof err->msg];
    if (!json_is_array(items)) {
        snprintf(why, sizeof why, "activity '%s': map over '%s': not an array (%s)", c->name, over,
                 items ? json_kind(items) : "no such key in its input");
        json_decref(input);
        return weft_engine_fail_attempt(e, m, c, true, why, err);
    }
    if (json_array_size(items) == 0) {
        json_t *out = json_pack("{s:[]}", "items");
        st = complete(e, m, input, out, err);
        json_decref(out);
        json_decref(input);
        return st;
    }
    st = weft_store_map_expand(e->store, m->workflow_uid, m->activity_uid, m->attempt, items,
                               parallel, e->limits.max_activities, &l, err);
    size_t n = json_array_size(items);
    json_decref(input);
    if (st == WEFT_ETOOBIG) {
        char *too_big = weft_xasprintf("activity '%s': map over '%s': %s", c->name, over, err->msg);
        weft_dispatch_list_finish(&l);
        st = weft_engine_fail_attempt(e, m, c, true, too_big, err);
        free(too_big);
        return st;
    }
    if (!st)
        st = weft_engine_dispatch_all(e, m->workflow_uid, &l, err);
    if (!st)
        WEFT_LOG(WEFT_LOG_INFO, m->workflow_uid, m->activity_uid,
                 "map '%s' over %zu items: %zu instances dispatched (max_parallel %d)", c->name, n,
                 l.n, parallel);
    weft_dispatch_list_finish(&l);
    return st == WEFT_ESTALE ? WEFT_OK : st;
}

/* The child's definition document (new) from the activity's params: a stored one by name
 * (and version), or the inline one. */
static weft_status child_definition(weft_engine *e, const weft_claim *c, json_t **doc,
                                    weft_err *err)
{
    const json_t *d = json_object_get(c->params, "definition");
    if (json_is_object(d)) {
        *doc = json_incref((json_t *)d);
        return WEFT_OK;
    }
    int found = 0;
    return weft_store_definition(e->store, json_string_value(d),
                                 (int)json_integer_value(json_object_get(c->params, "version")),
                                 doc, &found, err);
}

/* Sends what the store queued for child uid, and says so. */
static weft_status dispatched(weft_engine *e, const weft_attempt_msg *m, const char *child,
                              const char *what, weft_dispatch_list *l, weft_err *err)
{
    weft_status st = weft_engine_dispatch_all(e, child, l, err);
    if (!st)
        WEFT_LOG(WEFT_LOG_INFO, m->workflow_uid, m->activity_uid,
                 "child workflow %s %s, dispatched %zu", child, what, l->n);
    weft_dispatch_list_finish(l);
    return st;
}

/* An earlier attempt's child, found again (a resumed parent): its result is taken, a failed
 * one resumed, a running one waited for. *again is set when a new child must be started (the
 * old one is gone or was canceled, for good). */
static weft_status existing_child(weft_engine *e, const weft_attempt_msg *m, const weft_claim *c,
                                  bool *again, weft_err *err)
{
    *again = false;
    weft_workflow_status cs;
    weft_status st = weft_store_child_status(e->store, c->child_uid, &cs, err);
    if (st == WEFT_ENOTFOUND || (!st && cs == WEFT_WORKFLOW_CANCELED)) {
        *again = true;
        return WEFT_OK;
    }
    if (st)
        return st;
    weft_dispatch_list l = {0};
    if (cs == WEFT_WORKFLOW_FAILED || cs == WEFT_WORKFLOW_PENDING) {
        /* resumed before the activity waits: should this worker die in between, the attempt's
         * lease runs out, its retry finds the child running and waits for it */
        weft_workflow_status was;
        st = weft_store_resume(e->store, c->child_uid, &l, &was, err);
        if (!st)
            st = dispatched(e, m, c->child_uid, "resumed", &l, err);
        if (st)
            return st;
    }
    st = weft_store_child_wait(e->store, m->activity_uid, m->attempt, c->child_uid, err);
    if (!st && cs == WEFT_WORKFLOW_COMPLETED) {
        st = weft_store_child_settled(e->store, c->child_uid, &l, err);
        if (!st)
            st = weft_engine_dispatch_all(e, c->child_uid, &l, err);
        weft_dispatch_list_finish(&l);
    }
    return st == WEFT_ESTALE ? WEFT_OK : st;
}

static weft_status run_child(weft_engine *e, const weft_attempt_msg *m, const weft_claim *c,
                             weft_err *err)
{
    bool fresh = !c->child_uid[0];
    if (!fresh) {
        bool again = false;
        weft_status st = existing_child(e, m, c, &again, err);
        if (st || !again)
            return st;
    }
    json_t *doc = NULL;
    weft_definition *def = NULL;
    weft_status st = child_definition(e, c, &doc, err);
    if (!st)
        st = weft_definition_parse(doc, &e->limits, NULL, &def, err);
    if (weft_status_is_poison(st)) {
        char *why = weft_xasprintf("activity '%s': child workflow: %s", c->name, err->msg);
        json_decref(doc);
        st = weft_engine_fail_attempt(e, m, c, true, why, err);
        free(why);
        return st;
    }
    if (st) {
        json_decref(doc);
        return st;
    }
    /* the child's inputs: the activity's merged input, less the params that chose the child */
    json_t *inputs = merged_input(c);
    weft_compose_instance_input(c, inputs);
    json_object_del(inputs, "definition");
    json_object_del(inputs, "version");
    /* one uid per activity, kept across its attempts, so a resumed parent finds its child
     * again; one that was canceled (for good) is followed by one per attempt */
    char uid[WEFT_UUID_LEN + 1];
    char *name = fresh ? weft_xasprintf("weft.child:%s", m->activity_uid)
                       : weft_xasprintf("weft.child:%s:%d", m->activity_uid, m->attempt);
    weft_uuid_from_name(name, strlen(name), uid);
    free(name);
    weft_dispatch_list l = {0};
    bool existed = false;
    st = weft_store_start_child(e->store, m->workflow_uid, m->activity_uid, m->attempt, uid, def,
                                doc, inputs, &l, &existed, err);
    if (!st && existed) {
        /* a redelivery after the child was created: its work is re-sent */
        weft_workflow_status was;
        st = weft_store_resume(e->store, uid, &l, &was, err);
    }
    if (!st)
        st = dispatched(e, m, uid, existed ? "found again" : "started", &l, err);
    weft_dispatch_list_finish(&l);
    weft_definition_destroy(def);
    json_decref(doc);
    json_decref(inputs);
    return st == WEFT_ESTALE ? WEFT_OK : st;
}

weft_status weft_compose_run(weft_engine *e, const weft_attempt_msg *m, const weft_claim *c,
                             weft_err *err)
{
    if (c->map && !c->map_instance)
        return run_map(e, m, c, err);
    return run_child(e, m, c, err);
}

static weft_status cancel_tree(weft_engine *e, const char *uid, const char *reason, int depth,
                               weft_err *err)
{
    json_t *children = NULL;
    weft_status st = weft_store_children(e->store, uid, &children, err);
    size_t i;
    json_t *v;
    json_array_foreach(children, i, v)
    {
        if (st)
            break;
        const char *child = json_string_value(v);
        char *why = weft_xasprintf("parent workflow %s %s", uid, reason);
        weft_workflow_status was;
        bool canceled = false;
        st = weft_store_cancel(e->store, child, why, &was, &canceled, err);
        if (!st && canceled)
            WEFT_LOG(WEFT_LOG_INFO, child, NULL, "child workflow canceled: %s", why);
        if (!st && depth < MAX_CASCADE_DEPTH)
            st = cancel_tree(e, child, "canceled", depth + 1, err);
        free(why);
    }
    json_decref(children);
    return st;
}

weft_status weft_compose_cancel_children(weft_engine *e, const char *uid, const char *reason,
                                         weft_err *err)
{
    return cancel_tree(e, uid, reason, 0, err);
}

weft_status weft_compose_settle_parent(weft_engine *e, const char *uid, weft_err *err)
{
    weft_dispatch_list l = {0};
    weft_status st = weft_store_child_settled(e->store, uid, &l, err);
    if (!st && l.n)
        st = weft_engine_dispatch_all(e, uid, &l, err);
    weft_dispatch_list_finish(&l);
    return st;
}

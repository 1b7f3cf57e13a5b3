#include "store_worker.h"

#include "alloc.h"
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>

weft_status weft_store_worker_register(weft_store *s, const weft_worker_info *w, weft_err *err)
{
    char days[16], pid[16], concurrency[16], heartbeat[16];
    snprintf(days, sizeof days, "%d", WEFT_WORKER_PRUNE_DAYS);
    snprintf(pid, sizeof pid, "%d", w->pid);
    snprintf(concurrency, sizeof concurrency, "%d", w->concurrency);
    snprintf(heartbeat, sizeof heartbeat, "%d", w->heartbeat_s);
    const char *prune_p[] = {days};
    weft_status st = weft_store_query(s, WEFT_SQL_WORKER_PRUNE, prune_p, NULL, err);
    if (st)
        return st;
    /* as JSON arrays: a name is never misread the way an array literal reads NULL */
    json_t *queues = json_array(), *tasks = json_array();
    for (size_t i = 0; i < w->nqueues; i++)
        json_array_append_new(queues, json_string(w->queues[i]));
    for (size_t i = 0; i < weft_task_count(w->tasks); i++)
        json_array_append_new(tasks, json_string(weft_task_name(w->tasks, i)));
    char *queues_text = json_dumps(queues, JSON_COMPACT);
    char *tasks_text = json_dumps(tasks, JSON_COMPACT);
    char *limits_text = json_dumps(w->limits, JSON_COMPACT);
    const char *p[] = {w->id,      w->host,     pid,         queues_text,
                       tasks_text, concurrency, limits_text, heartbeat};
    st = weft_store_query(s, WEFT_SQL_WORKER_REGISTER, p, NULL, err);
    free(queues_text);
    free(tasks_text);
    free(limits_text);
    json_decref(queues);
    json_decref(tasks);
    return st;
}

weft_status weft_store_worker_heartbeat(weft_store *s, const char *id, weft_err *err)
{
    PGresult *r;
    weft_status st = weft_store_query_row(s, WEFT_SQL_WORKER_HEARTBEAT, id, "worker", &r, err);
    if (!st)
        PQclear(r);
    return st;
}

weft_status weft_store_worker_stop(weft_store *s, const char *id, weft_err *err)
{
    const char *p[] = {id};
    return weft_store_query(s, WEFT_SQL_WORKER_STOP, p, NULL, err);
}

weft_status weft_store_workers(weft_store *s, json_t **out, weft_err *err)
{
    return weft_store_query_json(s, WEFT_SQL_WORKERS, NULL, "worker list", out, err);
}

weft_status weft_store_task_types(weft_store *s, weft_task_registry *r, size_t *added,
                                  weft_err *err)
{
    PGresult *res;
    weft_status st = weft_store_query(s, WEFT_SQL_TASK_TYPES, NULL, &res, err);
    if (st)
        return st;
    size_t n = 0;
    for (int i = 0; i < PQntuples(res); i++)
        if (!weft_task_known(r, PQgetvalue(res, i, 0)) &&
            weft_task_declare(r, PQgetvalue(res, i, 0)))
            n++;
    PQclear(res);
    if (added)
        *added = n;
    return WEFT_OK;
}

/* weft-entry: consumes workflow_entry; creates or resumes workflows and dispatches their
 * ready activities. A thin shell over weft_engine_entry, which checks a definition's task
 * types against the catalog (catalog.h) unless --allow-unknown-tasks. */
#include "api.h"
#include "catalog.h"
#include "celery.h"
#include "consumer.h"
#include "engine.h"
#include "log.h"
#include "runtime.h"
#include "stop.h"
#include "worker_tasks.h"

#include <stdlib.h>

static const char usage[] =
    "usage: weft-entry [--prefetch N] [--tasks FILE] [--allow-unknown-tasks]\n"
    "                  [--metrics HOST:PORT] [--http HOST:PORT] [--log-level L] [--log-format F]\n"
    "Consumes the workflow_entry queue: creates (or resumes) workflows in Postgres and\n"
    "dispatches the activities whose dependencies are met. A definition may name the\n"
    "built-in tasks, those of the task file --tasks FILE (WEFT_TASKS_FILE) and those any\n"
    "registered worker ever declared (weft workers); one naming another task is refused to\n"
    "weft.dead with the known ones listed, unless --allow-unknown-tasks.\n"
    "--metrics HOST:PORT (WEFT_METRICS_ADDR) serves Prometheus /metrics and /healthz;\n"
    "--http HOST:PORT (WEFT_HTTP_ADDR) the HTTP API under /v1 and the dashboard at /, with\n"
    "the bearer token of the file WEFT_API_TOKEN_FILE (README: HTTP API).";

static weft_status handle(void *ctx, weft_transport *t, const weft_delivery *d, weft_err *err)
{
    weft_engine *e = ctx;
    e->transport = t;
    if (!d->celery_task)
        return weft_engine_entry(e, d->body, d->len, d->message_id, err);
    /* a Celery call of the seed's entry task: taken as the entry message it stands for, its
     * task id in place of a message id (a redelivery then names the same workflow) */
    char *body;
    size_t len;
    weft_status st =
        weft_celery_entry(d->celery_task, d->celery_id, d->body, d->len, &body, &len, err);
    if (st)
        return st;
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL,
             "celery_task_id=%s: call of %s taken as an entry message of %zu bytes",
             d->celery_id ? d->celery_id : "(none)", d->celery_task, len);
    st = weft_engine_entry(e, body, len, d->celery_id ? d->celery_id : d->message_id, err);
    free(body);
    return st;
}

int main(int argc, char **argv)
{
    weft_config cfg;
    weft_runtime_init(argc, argv, "weft-entry", usage, &cfg);
    weft_stop_install();
    weft_task_registry *tasks = NULL;
    weft_err err = {0};
    if (weft_worker_task_names(cfg.tasks_file, &tasks, &err))
        weft_runtime_exit_config(err.msg);
    weft_catalog *catalog = cfg.allow_unknown_tasks ? NULL : weft_catalog_create(tasks);
    weft_http_server *metrics = weft_runtime_metrics(&cfg, 1);
    weft_api *api = NULL;
    if (cfg.http_addr && weft_api_start(&cfg, tasks, &api, &err))
        weft_runtime_exit_config(err.msg);
    weft_store *store = weft_runtime_store(&cfg);
    weft_lock *lock = store ? weft_runtime_lock(&cfg) : NULL;
    char *worker = weft_runtime_worker_id("entry");
    int rc = 0;
    if (store && lock) {
        /* with unknown tasks allowed, no registry checks the names */
        weft_engine e = {.store = store,
                         .lock = lock,
                         .tasks = catalog ? tasks : NULL,
                         .catalog = catalog,
                         .limits = cfg.limits,
                         .worker = worker,
                         .data_dir = cfg.data_dir,
                         .handoff_shards = cfg.handoff_shards};
        weft_consumer c = {.name = "entry",
                           .queues = (const char *const[]){WEFT_QUEUE_ENTRY},
                           .nqueues = 1,
                           .prefetch = cfg.prefetch,
                           .amqp_url = cfg.amqp_url,
                           .amqp_cacert = cfg.amqp_cacert,
                           .max_message_bytes = cfg.limits.max_message_bytes,
                           .handle = handle,
                           .ctx = &e};
        rc = weft_consumer_run(&c);
    }
    weft_api_stop(api);
    weft_http_stop(metrics);
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "stopped");
    free(worker);
    weft_lock_destroy(lock);
    weft_store_destroy(store);
    weft_catalog_destroy(catalog);
    weft_task_registry_destroy(tasks);
    weft_config_finish(&cfg);
    return rc;
}

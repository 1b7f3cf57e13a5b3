/* weft-entry: consumes workflow_entry; creates or resumes workflows and dispatches their
 * ready activities. A thin shell over weft_engine_entry. */
#include "api.h"
#include "consumer.h"
#include "engine.h"
#include "log.h"
#include "runtime.h"
#include "stop.h"
#include "taskfile.h"
#include "tasks.h"

#include <stdlib.h>

static const char usage[] =
    "usage: weft-entry [--prefetch N] [--tasks FILE] [--metrics HOST:PORT] [--http HOST:PORT]\n"
    "                  [--log-level L] [--log-format F]\n"
    "Consumes the workflow_entry queue: creates (or resumes) workflows in Postgres and\n"
    "dispatches the activities whose dependencies are met. A definition may name the\n"
    "built-in tasks and those of the task file --tasks FILE (WEFT_TASKS_FILE), the workers'.\n"
    "--metrics HOST:PORT (WEFT_METRICS_ADDR) serves Prometheus /metrics and /healthz;\n"
    "--http HOST:PORT (WEFT_HTTP_ADDR) the HTTP API under /v1 and the dashboard at /, with\n"
    "the bearer token of the file WEFT_API_TOKEN_FILE (README: HTTP API).";

static weft_status handle(void *ctx, weft_transport *t, const weft_delivery *d, weft_err *err)
{
    weft_engine *e = ctx;
    e->transport = t;
    return weft_engine_entry(e, d->body, d->len, d->message_id, err);
}

int main(int argc, char **argv)
{
    weft_config cfg;
    weft_runtime_init(argc, argv, "weft-entry", usage, &cfg);
    weft_stop_install();
    weft_task_registry *tasks = weft_task_registry_create();
    weft_tasks_register_builtin(tasks);
    weft_taskfile *taskfile = NULL;
    weft_err err = {0};
    /* only the names: the programs run on the workers, not here */
    if (cfg.tasks_file && (weft_taskfile_load(cfg.tasks_file, false, &taskfile, &err) ||
                           weft_taskfile_declare(taskfile, tasks, &err))) {
        weft_runtime_exit_config(err.msg);
    }
    weft_taskfile_destroy(taskfile);
    weft_http_server *metrics = weft_runtime_metrics(&cfg, 1);
    weft_api *api = NULL;
    if (cfg.http_addr && weft_api_start(&cfg, tasks, &api, &err))
        weft_runtime_exit_config(err.msg);
    weft_store *store = weft_runtime_store(&cfg);
    weft_lock *lock = store ? weft_runtime_lock(&cfg) : NULL;
    char *worker = weft_runtime_worker_id("entry");
    int rc = 0;
    if (store && lock) {
        weft_engine e = {.store = store,
                         .lock = lock,
                         .tasks = tasks,
                         .limits = cfg.limits,
                         .worker = worker,
                         .data_dir = cfg.data_dir};
        weft_consumer c = {.name = "entry",
                           .queue = WEFT_QUEUE_ENTRY,
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
    weft_task_registry_destroy(tasks);
    weft_config_finish(&cfg);
    return rc;
}

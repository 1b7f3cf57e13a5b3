/* weft-activity: runs activity attempts from the queues its task file lists (`default`
 * without one). --concurrency N worker threads, each with its own AMQP and Postgres
 * connection, consuming every queue with prefetch 1 across them, so a slow task never holds
 * messages another worker could run. Each thread's tasks run in a task process that is this
 * binary again, exec'd with WEFT_TASK_PROCESS_ARG (runner.h). The worker registers itself and
 * heartbeats (presence.h). */
#include "consumer.h"
#include "engine.h"
#include "global_limit.h"
#include "lock.h"
#include "log.h"
#include "presence.h"
#include "queues.h"
#include "runner.h"
#include "runtime.h"
#include "stop.h"
#include "taskfile.h"
#include "type_gate.h"
#include "tasks.h"
#include "worker_tasks.h"

#include "alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: weft-activity [--concurrency N] [--grace S] [--task-timeout S] [--tasks FILE]\n"
    "                     [--metrics HOST:PORT] [--log-level L] [--log-format F]\n"
    "Consumes the queues its task file lists (default: the default queue) with N worker\n"
    "threads (default 2), each running one activity attempt at a time in a child process,\n"
    "and registers itself for weft workers. An attempt whose activity sets no timeout_s is\n"
    "stopped after --task-timeout seconds (WEFT_TASK_TIMEOUT_S, default 3600; 0: no limit)\n"
    "and counts as a TRANSIENT failure. On SIGTERM it takes no new work and lets running\n"
    "tasks finish for up to --grace seconds (default 30); what is unfinished then is handed\n"
    "back for redelivery. --tasks FILE (WEFT_TASKS_FILE) adds the task types and queues of a\n"
    "task file: programs in any language speaking JSON Lines (README: Write your own tasks);\n"
    "an invalid file stops it at start with exit status 2. --metrics HOST:PORT\n"
    "(WEFT_METRICS_ADDR) serves Prometheus /metrics and /healthz (healthy while every\n"
    "worker thread is connected).";

typedef struct {
    const weft_config *cfg;
    const weft_task_registry *tasks;
    const weft_taskfile *taskfile;
    const char *const *queues; /* the AMQP queues to consume */
    size_t nqueues;
    const char *worker_id; /* in the registry */
    int index;
    weft_type_gate *gate; /* the limits per task type, shared by the threads */
    weft_global_limits *global; /* the limits across all workers, cached for the threads */
} worker_args;

static weft_status handle(void *ctx, weft_transport *t, const weft_delivery *d, weft_err *err)
{
    weft_engine *e = ctx;
    e->transport = t;
    return weft_engine_activity(e, d->body, d->len, d->redelivered, err);
}

static void *worker_main(void *arg)
{
    worker_args *w = arg;
    char suffix[32], name[32];
    snprintf(suffix, sizeof suffix, "activity-%d", w->index);
    snprintf(name, sizeof name, "activity-%d", w->index);
    weft_store *store = weft_runtime_store(w->cfg);
    char *worker = weft_runtime_worker_id(suffix);
    weft_runner_config rc = {.default_timeout_s = w->cfg->task_timeout_s,
                             .taskfile = w->taskfile,
                             .max_line_bytes = w->cfg->limits.max_message_bytes};
    weft_runner *runner = weft_runner_create(w->tasks, &rc);
    /* Redis only for the global limits: connected on their first use, so a worker that never
     * meets one runs without it (main checked the URL) */
    weft_lock *lock = NULL;
    weft_err err;
    if (store && weft_lock_open(w->cfg->redis_url, &lock, &err))
        weft_runtime_exit_config(err.msg);
    if (store) {
        weft_engine e = {.runner = runner,
                         .store = store,
                         .tasks = w->tasks,
                         .limits = w->cfg->limits,
                         .worker = worker,
                         .worker_id = w->worker_id,
                         .data_dir = w->cfg->data_dir,
                         .grace_s = w->cfg->grace_s,
                         .lease_s = w->cfg->lease_s,
                         .ack_after_s = w->cfg->ack_after_s,
                         .gate = w->gate,
                         .lock = lock,
                         .global = w->global,
                         .handoff_shards = w->cfg->handoff_shards};
        weft_consumer c = {.name = name,
                           .queues = w->queues,
                           .nqueues = w->nqueues,
                           .prefetch = 1,
                           .amqp_url = w->cfg->amqp_url,
                           .amqp_cacert = w->cfg->amqp_cacert,
                           .max_message_bytes = w->cfg->limits.max_message_bytes,
                           .handle = handle,
                           .ctx = &e};
        weft_consumer_run(&c);
    }
    weft_runner_destroy(runner);
    weft_lock_destroy(lock);
    free(worker);
    weft_store_destroy(store);
    return NULL;
}

int main(int argc, char **argv)
{
    if (weft_runner_is_task_process(argc, argv))
        return weft_worker_tasks_serve(argc, argv);
    weft_err err = {0};
    weft_taskfile *taskfile = NULL;
    weft_task_registry *tasks = NULL;
    weft_config cfg;
    weft_runtime_init(argc, argv, "weft-activity", usage, &cfg);
    weft_stop_install();
    if (weft_worker_tasks(cfg.tasks_file, &taskfile, &tasks, &err))
        /* nothing a retry fixes: one line and exit 2, so a supervisor sees it at once */
        weft_runtime_exit_config(err.msg);
    weft_lock *redis_check = NULL;
    if (weft_lock_open(cfg.redis_url, &redis_check, &err))
        weft_runtime_exit_config(err.msg);
    weft_lock_destroy(redis_check);
    /* its task processes load the same plugins; set before any thread starts */
    if (cfg.tasks_file)
        setenv("WEFT_TASKS_FILE", cfg.tasks_file, 1);
    if (taskfile)
        WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "task file '%s': %zu task types", cfg.tasks_file,
                 taskfile->n + taskfile->nplugins + taskfile->nhttp);

    static const char *const default_queues[] = {WEFT_QUEUE_DEFAULT};
    const char *const *queues = taskfile ? (const char *const *)taskfile->queues : default_queues;
    size_t nqueues = taskfile ? taskfile->nqueues : 1;
    char(*amqp)[WEFT_QUEUE_AMQP_MAX] = weft_xcalloc(nqueues, sizeof *amqp);
    const char **amqp_queues = weft_xcalloc(nqueues, sizeof *amqp_queues);
    for (size_t i = 0; i < nqueues; i++)
        amqp_queues[i] = weft_queue_amqp(queues[i], amqp[i]);
    /* the task file's limits per type, enforced by one gate across the worker's slots */
    json_t *limits = json_object();
    for (size_t i = 0; taskfile && i < taskfile->n; i++)
        if (taskfile->tasks[i].limit > 0)
            json_object_set_new(limits, taskfile->tasks[i].name,
                                json_integer(taskfile->tasks[i].limit));
    for (size_t i = 0; taskfile && i < taskfile->nhttp; i++)
        if (taskfile->http[i].limit > 0)
            json_object_set_new(limits, taskfile->http[i].name,
                                json_integer(taskfile->http[i].limit));
    weft_type_gate *gate = weft_type_gate_create(taskfile);
    weft_global_limits *global = weft_global_limits_create();
    weft_worker_info info = {.queues = queues,
                             .nqueues = nqueues,
                             .tasks = tasks,
                             .concurrency = cfg.concurrency,
                             .limits = limits};
    weft_presence *presence = weft_presence_start(&cfg, &info);

    int n = presence ? cfg.concurrency : 0;
    pthread_t *threads = weft_xcalloc((size_t)cfg.concurrency, sizeof *threads);
    worker_args *args = weft_xcalloc((size_t)cfg.concurrency, sizeof *args);
    weft_http_server *metrics = presence ? weft_runtime_metrics(&cfg, n) : NULL;
    for (int i = 0; i < n; i++) {
        args[i] = (worker_args){
            &cfg, tasks, taskfile, amqp_queues, nqueues, weft_presence_id(presence), i, gate,
            global};
        if (pthread_create(&threads[i], NULL, worker_main, &args[i]) != 0) {
            WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL, "cannot start worker thread %d", i);
            return 1;
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    weft_presence_stop(presence);
    weft_http_stop(metrics);
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "stopped");
    json_decref(limits);
    weft_type_gate_destroy(gate);
    weft_global_limits_destroy(global);
    free(amqp_queues);
    free(amqp);
    free(threads);
    free(args);
    weft_taskfile_destroy(taskfile);
    weft_task_registry_destroy(tasks);
    weft_config_finish(&cfg);
    return 0;
}

/* weft-activity: runs activity attempts from the `default` queue. --concurrency N worker
 * threads, each with its own AMQP and Postgres connection and prefetch 1, so a slow task
 * never holds messages another worker could run. Each thread's tasks run in a task process
 * that is this binary again, exec'd with WEFT_TASK_PROCESS_ARG (runner.h). */
#include "consumer.h"
#include "engine.h"
#include "log.h"
#include "runner.h"
#include "runtime.h"
#include "stop.h"
#include "taskfile.h"
#include "tasks.h"
#include "worker_tasks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: weft-activity [--concurrency N] [--grace S] [--task-timeout S] [--tasks FILE]\n"
    "                     [--log-level L] [--log-format F]\n"
    "Consumes the default queue with N worker threads (default 2), each running one\n"
    "activity attempt at a time in a child process. An attempt whose activity sets no\n"
    "timeout_s is stopped after --task-timeout seconds (WEFT_TASK_TIMEOUT_S, default 3600;\n"
    "0: no limit) and counts as a TRANSIENT failure. On SIGTERM it takes no new work and\n"
    "lets running tasks finish for up to --grace seconds (default 30); what is unfinished\n"
    "then is handed back for redelivery. --tasks FILE (WEFT_TASKS_FILE) adds the task types\n"
    "of a task file: programs in any language speaking JSON Lines (README: Write your own\n"
    "tasks); an invalid file stops it at start with exit status 2.";

typedef struct {
    const weft_config *cfg;
    const weft_task_registry *tasks;
    const weft_taskfile *taskfile;
    int index;
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
    if (store) {
        weft_engine e = {.runner = runner,
                         .store = store,
                         .tasks = w->tasks,
                         .limits = w->cfg->limits,
                         .worker = worker,
                         .data_dir = w->cfg->data_dir,
                         .grace_s = w->cfg->grace_s,
                         .lease_s = w->cfg->lease_s,
                         .ack_after_s = w->cfg->ack_after_s};
        weft_consumer c = {.name = name,
                           .queue = WEFT_QUEUE_DEFAULT,
                           .prefetch = 1,
                           .amqp_url = w->cfg->amqp_url,
                           .amqp_cacert = w->cfg->amqp_cacert,
                           .max_message_bytes = w->cfg->limits.max_message_bytes,
                           .handle = handle,
                           .ctx = &e};
        weft_consumer_run(&c);
    }
    weft_runner_destroy(runner);
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
    /* its task processes load the same plugins; set before any thread starts */
    if (cfg.tasks_file)
        setenv("WEFT_TASKS_FILE", cfg.tasks_file, 1);
    if (taskfile)
        WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "task file '%s': %zu task types", cfg.tasks_file,
                 taskfile->n + taskfile->nplugins + taskfile->nhttp);

    int n = cfg.concurrency;
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    worker_args *args = calloc((size_t)n, sizeof *args);
    if (!threads || !args)
        abort();
    for (int i = 0; i < n; i++) {
        args[i] = (worker_args){&cfg, tasks, taskfile, i};
        if (pthread_create(&threads[i], NULL, worker_main, &args[i]) != 0) {
            WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL, "cannot start worker thread %d", i);
            return 1;
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "stopped");
    free(threads);
    free(args);
    weft_taskfile_destroy(taskfile);
    weft_task_registry_destroy(tasks);
    weft_config_finish(&cfg);
    return 0;
}

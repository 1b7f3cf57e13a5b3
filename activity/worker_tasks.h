/* The task types a worker serves, as one registry: the built-in tasks, the tasks its task
 * file's plugins register (the plugins loaded), and its exec tasks declared (run by the
 * runner's exec pool, exec_task.h). The worker's main thread, its task processes and direct
 * mode build the same one, so a task process runs every plugin task its worker accepts.
 * A task process finds the task file in WEFT_TASKS_FILE, which a worker given --tasks sets
 * before any thread starts. */
#ifndef WEFT_WORKER_TASKS_H
#define WEFT_WORKER_TASKS_H

#include "status.h"
#include "task.h"
#include "taskfile.h"

/* Builds the registry for tasks_file (borrowed; NULL: built-in tasks only). On WEFT_OK
 * *registry is new (weft_task_registry_destroy) and *taskfile new or NULL
 * (weft_taskfile_destroy); on failure both are NULL and err names the file, the task and
 * what is wrong (a bad file, a plugin that cannot be loaded or registers no such task). */
weft_status weft_worker_tasks(const char *tasks_file, weft_taskfile **taskfile,
                              weft_task_registry **registry, weft_err *err);

/* The names alone of what a worker with tasks_file (borrowed; NULL: none) serves: the built-in
 * tasks and the task file's, its programs and plugins neither checked nor loaded. For the
 * programs that validate definitions without running tasks (weft-entry, `weft submit`). On
 * WEFT_OK *registry is new (weft_task_registry_destroy); else NULL, err naming the file. */
weft_status weft_worker_task_names(const char *tasks_file, weft_task_registry **registry,
                                   weft_err *err);

/* The whole life of a task process (runner.h) of a program that runs these tasks: builds
 * the registry from WEFT_TASKS_FILE and serves; returns the exit status (2, after one line
 * on stderr, when the registry cannot be built). For main() once
 * weft_runner_is_task_process said so. */
int weft_worker_tasks_serve(int argc, char **argv);

#endif

#include "worker_tasks.h"

#include "plugin.h"
#include "runner.h"
#include "tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads each plugin once (several tasks may name one) and checks it registered the tasks
 * the file says it serves. */
static weft_status load_plugins(const weft_taskfile *tf, weft_task_registry *r, weft_err *err)
{
    for (size_t i = 0; i < tf->nplugins; i++) {
        const weft_taskfile_plugin *p = &tf->plugins[i];
        bool loaded = false;
        for (size_t j = 0; j < i && !loaded; j++)
            loaded = strcmp(tf->plugins[j].path, p->path) == 0;
        weft_status st = loaded ? WEFT_OK : weft_plugin_load(p->path, r, err);
        if (st)
            return weft_err_prefix(err, "task '%s': ", p->name);
        if (!weft_task_lookup(r, p->name))
            return weft_err_set(err, WEFT_EINVAL, "task '%s': plugin '%s' registers no task '%s'",
                                p->name, p->path, p->name);
    }
    return WEFT_OK;
}

weft_status weft_worker_tasks(const char *tasks_file, weft_taskfile **taskfile,
                              weft_task_registry **registry, weft_err *err)
{
    *taskfile = NULL;
    *registry = NULL;
    weft_taskfile *tf = NULL;
    if (tasks_file && *tasks_file) {
        weft_status st = weft_taskfile_load(tasks_file, true, &tf, err);
        if (st)
            return st;
    }
    weft_tasks_global_init();
    weft_task_registry *r = weft_task_registry_create();
    weft_tasks_register_builtin(r);
    weft_status st = WEFT_OK;
    if (tf) {
        st = load_plugins(tf, r, err);
        if (st)
            weft_err_prefix(err, "task file '%s': ", tasks_file);
        else
            st = weft_taskfile_declare(tf, r, err);
    }
    if (st) {
        weft_task_registry_destroy(r);
        weft_taskfile_destroy(tf);
        return st;
    }
    *taskfile = tf;
    *registry = r;
    return WEFT_OK;
}

weft_status weft_worker_task_names(const char *tasks_file, weft_task_registry **registry,
                                   weft_err *err)
{
    weft_task_registry *r = weft_task_registry_create();
    weft_tasks_register_builtin(r);
    weft_taskfile *tf = NULL;
    /* only the names: the programs run on the workers, not here */
    weft_status st =
        tasks_file && *tasks_file ? weft_taskfile_load(tasks_file, false, &tf, err) : WEFT_OK;
    if (!st)
        st = weft_taskfile_declare(tf, r, err);
    weft_taskfile_destroy(tf);
    if (st) {
        weft_task_registry_destroy(r);
        r = NULL;
    }
    *registry = r;
    return st;
}

int weft_worker_tasks_serve(int argc, char **argv)
{
    weft_taskfile *taskfile = NULL;
    weft_task_registry *tasks = NULL;
    weft_err err = {0};
    /* its worker checked the same file before it started any task process */
    if (weft_worker_tasks(getenv("WEFT_TASKS_FILE"), &taskfile, &tasks, &err)) {
        fprintf(stderr, "weft task process: %s\n", err.msg);
        return 2;
    }
    int rc = weft_runner_serve(argc, argv, tasks);
    weft_task_registry_destroy(tasks);
    weft_taskfile_destroy(taskfile);
    return rc;
}

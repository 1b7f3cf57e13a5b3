/* The task registry: handlers registered by name, looked up by the activity consumer and by
 * definition validation. A name is either registered with its handler (a built-in task, run
 * in the task process) or only declared: a task served by something else (an exec task of
 * the worker's task file, taskfile.h), known to validation but with no handler here.
 *
 * This header is installed as <weft/task.h> (pkg-config weft-task) for task plugins: a
 * shared object that a worker's task file names is loaded at the worker's start and its
 * weft_plugin_init registers its handlers. The handlers then run like the built-in tasks,
 * in the worker's task process, concurrently from several worker threads. A plugin links
 * against nothing of weft's: weft_task_register comes from the process that loads it. */
#ifndef WEFT_TASK_H
#define WEFT_TASK_H

#include <jansson.h>
#include <stdbool.h>

typedef enum {
    WEFT_TASK_OK,        /* *output holds the result object */
    WEFT_TASK_TRANSIENT, /* retried while retries remain */
    WEFT_TASK_PERMANENT, /* fails the activity at once */
} weft_task_result;

typedef struct {
    const char *workflow_uid; /* borrowed */
    const char *activity_uid; /* borrowed */
    const char *activity_name;
    int attempt;
    const json_t *input;    /* borrowed: the merged input object (inputs, upstream, params) */
    const json_t *params;   /* borrowed: the activity's own params object */
    const json_t *upstream; /* borrowed: {dependency name: its output} */
    const char *data_dir;   /* borrowed: root for file tasks (WEFT_DATA_DIR) */
} weft_task_ctx;

/* A handler sets *output to a new JSON object on WEFT_TASK_OK, or writes a one-line reason
 * into errbuf (errlen bytes) on failure. It must be thread-safe: workers call it
 * concurrently. */
typedef weft_task_result weft_task_handler(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                           size_t errlen);
typedef weft_task_handler *weft_task_fn;

typedef struct weft_task_registry weft_task_registry;

/* New empty registry; free with weft_task_registry_destroy (accepts NULL). */
weft_task_registry *weft_task_registry_create(void);
void weft_task_registry_destroy(weft_task_registry *r);

/* Registers fn under name (copied). Returns false if name is NULL or empty, or taken. A
 * definition can only name a task whose name passes weft_name_valid (definition.h). */
bool weft_task_register(weft_task_registry *r, const char *name, weft_task_fn fn);

/* Declares name (copied) as a task with no handler here. Returns false if name is NULL or
 * empty, or taken. */
bool weft_task_declare(weft_task_registry *r, const char *name);

/* The handler for name, or NULL (unknown, or only declared). */
weft_task_fn weft_task_lookup(const weft_task_registry *r, const char *name);

/* True when name is registered or declared: a definition may name it. */
bool weft_task_known(const weft_task_registry *r, const char *name);

/* What a plugin exports (C linkage, this name): registers its tasks in r (borrowed, for the
 * call only) with weft_task_register and returns true, or false to refuse to load (the
 * worker then stops at start, naming the plugin). */
typedef bool weft_plugin_init_fn(weft_task_registry *r);
#define WEFT_PLUGIN_INIT "weft_plugin_init"

#endif

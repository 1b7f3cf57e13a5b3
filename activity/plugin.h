/* Task plugins (DESIGN §9): shared objects built against <weft/task.h> that register their
 * own task handlers. A plugin is loaded once, at a worker's start (and again in each of
 * its task processes, which build the same registry), and stays loaded for the life of the
 * process: its handlers are in the registry, so it is never unloaded. */
#ifndef WEFT_PLUGIN_H
#define WEFT_PLUGIN_H

#include "status.h"
#include "task.h"

/* Loads the shared object at path (borrowed), resolves its weft_plugin_init and calls it
 * with r (borrowed). WEFT_EINVAL when the file cannot be loaded (the message names path
 * and gives dlerror()), exports no weft_plugin_init, or its init refused. */
weft_status weft_plugin_load(const char *path, weft_task_registry *r, weft_err *err);

#endif

/* A plugin whose init refuses: the worker must not start with it (tests). */
#include <weft/task.h>

bool weft_plugin_init(weft_task_registry *r);

bool weft_plugin_init(weft_task_registry *r)
{
    (void)r;
    return false;
}

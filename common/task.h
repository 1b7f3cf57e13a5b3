/* The task registry's header is public (plugins build against it as <weft/task.h>); this
 * name keeps weft's own sources reading it as "task.h", and adds what weft itself, not a
 * plugin, asks of a registry: the names it knows (registered or declared). */
#ifndef WEFT_COMMON_TASK_H
#define WEFT_COMMON_TASK_H

#include <weft/task.h>

#include <stddef.h>

/* How many names r knows; name i of them (borrowed from r), in the order they were added. */
size_t weft_task_count(const weft_task_registry *r);
const char *weft_task_name(const weft_task_registry *r, size_t i);

/* The names r knows, sorted, as "a, b, c" for a message (new string, caller frees): cut at
 * about 300 characters, the rest counted ("..., and 12 more"); "none" when it knows none. */
char *weft_task_list(const weft_task_registry *r);

#endif

/* The task registry's header is public (plugins build against it as <weft/task.h>); this
 * name keeps weft's own sources reading it as "task.h". */
#include <weft/task.h>

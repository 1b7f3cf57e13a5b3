#include "queues.h"

#include <stdio.h>
#include <string.h>

const char *weft_queue_amqp(const char *queue, char out[WEFT_QUEUE_AMQP_MAX])
{
    if (strcmp(queue, WEFT_QUEUE_DEFAULT) == 0)
        snprintf(out, WEFT_QUEUE_AMQP_MAX, "%s", WEFT_QUEUE_DEFAULT);
    else
        snprintf(out, WEFT_QUEUE_AMQP_MAX, WEFT_QUEUE_TASKS_PREFIX "%s", queue);
    return out;
}

bool weft_queue_is_tasks(const char *amqp_queue)
{
    return strcmp(amqp_queue, WEFT_QUEUE_DEFAULT) == 0 ||
           strncmp(amqp_queue, WEFT_QUEUE_TASKS_PREFIX, strlen(WEFT_QUEUE_TASKS_PREFIX)) == 0;
}

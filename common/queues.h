/* The queues of DESIGN §2 by name: what the engine publishes to and the consumers take
 * from, whatever carries the messages (RabbitMQ, or direct mode's in-process lists). The
 * broker declares them (broker.c); this header names them.
 *
 * Routing (DESIGN §9): an activity names a queue, `default` unless it says otherwise; its
 * attempts travel on the AMQP queue `default` for that one and on `weft.tasks.<queue>` for
 * any other, declared like `default`. A queue name is [A-Za-z0-9_.-]{1,64}, as activity
 * names are. */
#ifndef WEFT_QUEUES_H
#define WEFT_QUEUES_H

#include "weft_limits.h"

#include <stdbool.h>
#include <stddef.h>

#define WEFT_QUEUE_ENTRY "workflow_entry"
#define WEFT_QUEUE_DEFAULT "default"
#define WEFT_QUEUE_HANDOFF "workflow_handoff"
#define WEFT_QUEUE_DEAD "weft.dead"
/* The AMQP queue of a routing queue other than `default`: "weft.tasks.<queue>". */
#define WEFT_QUEUE_TASKS_PREFIX "weft.tasks."
/* Delay queues of `default`'s retries: "weft.retry.<ms>", one per bucket, each dead-letters
 * into `default`. */
#define WEFT_QUEUE_RETRY_PREFIX "weft.retry."
/* Delay queues of every other queue's retries: "weft.delay.<ms>", one per bucket, each fed by
 * the fanout exchange of the same name and dead-lettering with the routing key the retry was
 * published with, the weft.tasks.* queue it is for (broker.c). */
#define WEFT_QUEUE_DELAY_PREFIX "weft.delay."

/* Room for any AMQP queue name weft_queue_amqp writes, NUL included. */
#define WEFT_QUEUE_AMQP_MAX (sizeof WEFT_QUEUE_TASKS_PREFIX + WEFT_MAX_NAME_LEN)

/* The AMQP queue that carries the attempts of routing queue `queue` (borrowed; a valid
 * queue name): "default", or "weft.tasks.<queue>", written into out (caller's buffer of
 * WEFT_QUEUE_AMQP_MAX bytes). Returns out. */
const char *weft_queue_amqp(const char *queue, char out[WEFT_QUEUE_AMQP_MAX]);

/* True for an AMQP queue that carries attempts: `default` or a weft.tasks.* queue. */
bool weft_queue_is_tasks(const char *amqp_queue);

#endif

/* The queues of DESIGN §2 by name: what the engine publishes to and the consumers take
 * from, whatever carries the messages (RabbitMQ, or direct mode's in-process lists). The
 * broker declares them (broker.c); this header only names them. */
#ifndef WEFT_QUEUES_H
#define WEFT_QUEUES_H

#define WEFT_QUEUE_ENTRY "workflow_entry"
#define WEFT_QUEUE_DEFAULT "default"
#define WEFT_QUEUE_HANDOFF "workflow_handoff"
#define WEFT_QUEUE_DEAD "weft.dead"
/* Delay queues are "weft.retry.<ms>", one per bucket; each dead-letters into `default`. */
#define WEFT_QUEUE_RETRY_PREFIX "weft.retry."

#endif

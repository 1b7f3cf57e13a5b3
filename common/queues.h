/* The queues of DESIGN §2 by name: what the engine publishes to and the consumers take
 * from, whatever carries the messages (RabbitMQ, or direct mode's in-process lists). The
 * broker declares them (broker.c); this header names them.
 *
 * Routing (DESIGN §9): an activity names a queue, `default` unless it says otherwise; its
 * attempts travel on the AMQP queue `default` for that one and on `weft.tasks.<queue>` for
 * any other, declared like `default`. A queue name is [A-Za-z0-9_.-]{1,64}, as activity
 * names are.
 *
 * Handoff shards (DESIGN §15): with WEFT_HANDOFF_SHARDS = N, a workflow's handoffs all travel
 * on one of N queues, chosen by a stable hash of its uid (FNV-1a over the 36 characters of
 * its canonical, lower-case text), so every process that agrees on N sends them to the same
 * queue whoever publishes them. Shard 0 is `workflow_handoff` (N = 1 is the topology of one
 * shard), shard k `workflow_handoff.k`; each is single-active-consumer with prefetch 1, which
 * keeps a workflow's handoffs one at a time while the shards run side by side. */
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

/* The most handoff shards (WEFT_HANDOFF_SHARDS 1..64): the suffix stays two digits. */
#define WEFT_HANDOFF_SHARDS_MAX 64
/* Room for any handoff shard's queue name, NUL included: "workflow_handoff." and any int. */
#define WEFT_QUEUE_HANDOFF_MAX (sizeof WEFT_QUEUE_HANDOFF + 12)

/* Room for any AMQP queue name weft_queue_amqp writes, NUL included. */
#define WEFT_QUEUE_AMQP_MAX (sizeof WEFT_QUEUE_TASKS_PREFIX + WEFT_MAX_NAME_LEN)

_Static_assert(WEFT_QUEUE_AMQP_MAX >= WEFT_QUEUE_HANDOFF_MAX,
               "a buffer for any AMQP queue holds a handoff shard's name");

/* The AMQP queue that carries the attempts of routing queue `queue` (borrowed; a valid
 * queue name): "default", or "weft.tasks.<queue>", written into out (caller's buffer of
 * WEFT_QUEUE_AMQP_MAX bytes). Returns out. */
const char *weft_queue_amqp(const char *queue, char out[WEFT_QUEUE_AMQP_MAX]);

/* True for an AMQP queue that carries attempts: `default` or a weft.tasks.* queue. */
bool weft_queue_is_tasks(const char *amqp_queue);

/* The shard, in [0, shards), of workflow uid (borrowed; its text, any letter case). shards
 * below 1 counts as 1. Stable: the same uid and shards give the same shard in every process
 * and release. */
int weft_queue_handoff_shard(const char *workflow_uid, int shards);

/* The queue of handoff shard `shard` (0..WEFT_HANDOFF_SHARDS_MAX-1): "workflow_handoff" or
 * "workflow_handoff.<shard>", written into out (caller's buffer). Returns out. */
const char *weft_queue_handoff_name(int shard, char out[WEFT_QUEUE_HANDOFF_MAX]);

/* The handoff queue of workflow uid (borrowed) among `shards` shards: the two above in one,
 * the one way every publisher of a handoff picks its queue. Returns out. */
const char *weft_queue_handoff(const char *workflow_uid, int shards,
                               char out[WEFT_QUEUE_HANDOFF_MAX]);

/* True for a handoff shard's queue: `workflow_handoff` or `workflow_handoff.<k>`. */
bool weft_queue_is_handoff(const char *amqp_queue);

#endif

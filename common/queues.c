#include "queues.h"

#include <ctype.h>
#include <stdint.h>
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

int weft_queue_handoff_shard(const char *workflow_uid, int shards)
{
    if (shards <= 1)
        return 0;
    /* FNV-1a, 32 bits: fixed by its definition, so no library or release changes it. The
     * text is hashed lower-cased: Postgres writes a uuid back lower-case, and a handoff sent
     * from a stored row must reach the shard of one sent from a message's own spelling. */
    uint32_t h = 2166136261u;
    for (const char *p = workflow_uid; *p; p++) {
        h ^= (uint32_t)tolower((unsigned char)*p);
        h *= 16777619u;
    }
    return (int)(h % (uint32_t)shards);
}

const char *weft_queue_handoff_name(int shard, char out[WEFT_QUEUE_HANDOFF_MAX])
{
    if (shard <= 0)
        snprintf(out, WEFT_QUEUE_HANDOFF_MAX, "%s", WEFT_QUEUE_HANDOFF);
    else
        snprintf(out, WEFT_QUEUE_HANDOFF_MAX, WEFT_QUEUE_HANDOFF ".%d", shard);
    return out;
}

const char *weft_queue_handoff(const char *workflow_uid, int shards,
                               char out[WEFT_QUEUE_HANDOFF_MAX])
{
    return weft_queue_handoff_name(weft_queue_handoff_shard(workflow_uid, shards), out);
}

bool weft_queue_is_handoff(const char *amqp_queue)
{
    size_t n = strlen(WEFT_QUEUE_HANDOFF);
    if (strncmp(amqp_queue, WEFT_QUEUE_HANDOFF, n) != 0)
        return false;
    const char *k = amqp_queue + n;
    if (!*k)
        return true;
    /* ".<k>" with k in 1..MAX-1, written without a leading zero */
    if (*k != '.' || !isdigit((unsigned char)k[1]) || k[1] == '0')
        return false;
    int v = 0;
    for (k++; *k; k++) {
        if (!isdigit((unsigned char)*k))
            return false;
        v = v * 10 + (*k - '0');
        if (v >= WEFT_HANDOFF_SHARDS_MAX)
            return false;
    }
    return true;
}

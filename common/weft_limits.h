/* Defaults in one place; every one of them can be changed by configuration. */
#ifndef WEFT_LIMITS_H
#define WEFT_LIMITS_H

#include <stddef.h>

#define WEFT_DEFAULT_MAX_MESSAGE_BYTES (1024u * 1024u)
#define WEFT_DEFAULT_MAX_ACTIVITIES 10000u
#define WEFT_DEFAULT_MAX_RETRIES 3
#define WEFT_DEFAULT_INITIAL_DELAY_MS 1000.0
#define WEFT_DEFAULT_BACKOFF 2.0
#define WEFT_DEFAULT_MAX_DELAY_MS 60000.0
#define WEFT_MAX_PRIORITY 10
#define WEFT_MAX_NAME_LEN 64
/* A map's instances queued or running at once when its definition gives no max_parallel. */
#define WEFT_DEFAULT_MAP_PARALLEL 100
/* A workflow's activities queued or running at once when its definition gives no
 * max_parallel: a few hundred keeps every worker busy while leaving room in the queues for
 * the workflows submitted after a big one. */
#define WEFT_DEFAULT_WORKFLOW_PARALLEL 200
/* Longest retry delay a policy may ask for: the longest delay queue. */
#define WEFT_MAX_DELAY_LIMIT_MS 3600000.0

typedef struct {
    size_t max_message_bytes; /* bodies above this are rejected on receipt */
    size_t max_activities;    /* activities per workflow */
} weft_limits;

#define WEFT_LIMITS_DEFAULT                                                                        \
    ((weft_limits){WEFT_DEFAULT_MAX_MESSAGE_BYTES, WEFT_DEFAULT_MAX_ACTIVITIES})

#endif

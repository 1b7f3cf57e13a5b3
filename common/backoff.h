/* Capped exponential backoff, for retrying what failed because a service is away: the
 * first wait is 100 ms, each next one twice the last up to a cap, and a success starts the
 * series again. The consumers' reconnects and the start-up connections cap it at 10 s; a
 * worker retrying a result write caps it lower (engine.c). A weft_backoff is a value in the
 * caller's memory, used by one thread. */
#ifndef WEFT_BACKOFF_H
#define WEFT_BACKOFF_H

#include <stdbool.h>

#define WEFT_BACKOFF_START_MS 100
#define WEFT_BACKOFF_MAX_MS 10000

typedef struct {
    int next_ms; /* the wait weft_backoff_next hands out next */
    int max_ms;  /* the cap */
} weft_backoff;

/* A fresh series capped at max_ms: `weft_backoff b = WEFT_BACKOFF_INIT(WEFT_BACKOFF_MAX_MS);` */
#define WEFT_BACKOFF_INIT(max_ms) ((weft_backoff){WEFT_BACKOFF_START_MS, (max_ms)})

/* The wait before the next retry, in ms; the one after will be twice as long (capped). */
int weft_backoff_next(weft_backoff *b);

/* Starts the series again: after a success. */
void weft_backoff_reset(weft_backoff *b);

/* True while no wait was handed out since the start or the last reset: the first failure
 * of an outage, the one worth a log line. */
bool weft_backoff_first(const weft_backoff *b);

#endif

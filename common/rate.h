/* Rate limits as people write them (`weft limit set TASK --rate 10/s`): a count of starts per
 * second, minute or hour, and the figures the token bucket of global_limit.h works with.
 *
 * A rate is a positive number of starts per unit; its interval (1000 ms / starts per second)
 * is the spacing the bucket keeps between two starts of its type. Pure functions: no I/O. */
#ifndef WEFT_RATE_H
#define WEFT_RATE_H

#include "status.h"

#include <stddef.h>

/* The fastest rate weft accepts, in starts per second (an interval of 1 ms). */
#define WEFT_RATE_MAX_PER_S 1000.0
/* The slowest: one start a day. */
#define WEFT_RATE_MIN_PER_S (1.0 / 86400.0)

/* Parses text (borrowed) as COUNT/UNIT: COUNT a positive decimal number, UNIT s, m or h
 * (also sec, min, hour), e.g. "10/s", "600/m", "0.5/s". *per_s gets starts per second.
 * WEFT_EINVAL with a message naming what is wrong, quoting text, when it is no such rate or
 * outside WEFT_RATE_MIN_PER_S..WEFT_RATE_MAX_PER_S. */
weft_status weft_rate_parse(const char *text, double *per_s, weft_err *err);

/* The spacing between starts at per_s, in ms (> 0). */
double weft_rate_interval_ms(double per_s);

/* How long an attempt told to wait wait_ms sends itself round: the longest delay bucket of
 * buckets (ascending, n of them) that does not pass its turn, so it comes back at or a little
 * before it (and waits the rest on its next pass) instead of bunching up with the attempts
 * after it in a bucket that rounds up; the smallest bucket when wait_ms is below it. */
int weft_rate_hop_ms(int wait_ms, const int *buckets, size_t n);

#endif

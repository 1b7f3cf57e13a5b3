/* Time as weft measures it: the monotonic clock, which no NTP step or admin's `date`
 * moves, so deadlines, timeouts and durations stay true. Wall-clock time is Postgres's
 * business (now() in the store). */
#ifndef WEFT_CLOCK_H
#define WEFT_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds / seconds since an arbitrary start: only differences mean
 * anything. */
int64_t weft_clock_ms(void);
double weft_clock_s(void);

/* Sleeps ms (<= 0: not at all), resuming after a signal; for a sleep that a stop request
 * cuts short, see weft_stop_sleep_ms. */
void weft_clock_sleep_ms(int64_t ms);

#endif

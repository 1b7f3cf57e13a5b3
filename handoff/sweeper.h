/* The stuck-work sweeper of weft-handoff (store_sweep.h says what is stuck and how it is
 * found): a thread with connections of its own, so a sweep never delays a handoff.
 *
 * One sweeper runs at a time, whatever the number of handoff processes (the active one and
 * its hot standbys): each sweep first takes or renews the leader lock weft:lock:sweeper in
 * Redis, leased for three intervals, and a process that does not hold it skips the sweep.
 * A leader that dies is replaced within three intervals.
 *
 * Before each sweep the leader asks the broker how many messages `default` and the handoff
 * shards (all of them, queues.h) hold ready: work queued long ago behind a backlog is waiting, not lost,
 * so only much older work is re-sent then (weft_sweep_opts). */
#ifndef WEFT_SWEEPER_H
#define WEFT_SWEEPER_H

#include "config.h"

#include <pthread.h>

typedef struct weft_sweeper weft_sweeper;

/* Starts the sweeper thread over cfg (borrowed; must outlive it), sweeping every
 * cfg->sweep_interval_s seconds. NULL when the interval is 0 (sweeping is off). It stops
 * when a stop is requested (stop.h); weft_sweeper_join waits for that and frees it
 * (accepts NULL). */
weft_sweeper *weft_sweeper_start(const weft_config *cfg);
void weft_sweeper_join(weft_sweeper *s);

#endif

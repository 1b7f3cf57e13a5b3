/* The worker's presence in the registry (store_worker.h): weft-activity registers itself
 * at start under a new id, heartbeats from a thread of its own with its own Postgres
 * connection, so the heartbeat never waits on a task or on messages, and says it stopped on a
 * graceful exit. Its attempts record the id (weft_engine.worker_id).
 *
 * A heartbeat that fails (Postgres down) is tried again at the next interval: the worker
 * keeps working, and looks lost to `weft workers` until Postgres is back. One that finds the
 * worker no longer registered (its row pruned after a long outage) registers it again. */
#ifndef WEFT_PRESENCE_H
#define WEFT_PRESENCE_H

#include "config.h"
#include "store.h"

/* How often a worker heartbeats; it looks lost after three intervals without one. */
#define WEFT_HEARTBEAT_S 5

typedef struct weft_presence weft_presence;

/* Registers the worker described by w (borrowed; w->id, w->heartbeat_s and w->host are
 * filled in here, the rest is the caller's) over a connection of its own to cfg's Postgres
 * (borrowed; must outlive the presence), waiting for Postgres as long as it takes, then starts
 * the heartbeat. NULL only when a stop was requested meanwhile. */
weft_presence *weft_presence_start(const weft_config *cfg, const weft_worker_info *w);

/* This worker's id (borrowed from p: valid until weft_presence_stop). */
const char *weft_presence_id(const weft_presence *p);

/* Stops the heartbeat, records that the worker stopped and frees p (accepts NULL). Call it
 * once the worker threads are done. */
void weft_presence_stop(weft_presence *p);

#endif

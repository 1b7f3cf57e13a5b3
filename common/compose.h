/* The engine's composition (DESIGN §11; storage in store_compose.h): what a worker does with a
 * claimed map or `workflow` activity instead of running a task, and the cancel cascade.
 *
 * A map: its merged input's key must hold an array (else PERMANENT); an empty one completes
 * the map at once with {"items": []}; otherwise its instances are created and the first
 * max_parallel dispatched, and the message is done with: the map holds no worker slot.
 * A `workflow` activity: its child is found or started and the message is done with; a
 * finished child settles it through the handoff. */
#ifndef WEFT_COMPOSE_H
#define WEFT_COMPOSE_H

#include "engine.h"
#include "message.h"

/* True when claim c (borrowed) is a map or a child workflow, which weft_compose_run handles. */
bool weft_compose_handles(const weft_claim *c);

/* Runs claimed attempt m of map or `workflow` activity c (both borrowed) as above. On WEFT_OK
 * the message may be acked. */
weft_status weft_compose_run(weft_engine *e, const weft_attempt_msg *m, const weft_claim *c,
                             weft_err *err);

/* The input of a map instance (input, owned by the caller, changed in place): without the
 * array the map went over, so that a map of N elements stores O(N), not O(N²) (the element is
 * its `item`). Nothing for other activities. */
void weft_compose_instance_input(const weft_claim *c, json_t *input);

/* Cancels the pending or running children of workflow uid (borrowed), and theirs, with
 * reason (borrowed) naming the parent. */
weft_status weft_compose_cancel_children(weft_engine *e, const char *uid, const char *reason,
                                         weft_err *err);

/* After workflow uid (borrowed) became terminal outside a handoff (a cancel): settles its
 * parent activity if one waits for it, and sends that one's handoff. */
weft_status weft_compose_settle_parent(weft_engine *e, const char *uid, weft_err *err);

#endif

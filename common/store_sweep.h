/* The store's sweep for stuck work (DESIGN §5).
 *
 * A message can be lost with a broker's data: an activity stays queued (or due for retry)
 * with no message to run it, or a terminal attempt's handoff never runs. The sweeper, a
 * single leader, finds both in running workflows and sends their messages again; the
 * compare-and-set transitions make a message that was not lost after all harmless. */
#ifndef WEFT_STORE_SWEEP_H
#define WEFT_STORE_SWEEP_H

#include "store.h"

/* Over running workflows: activities queued (or due for retry) for more than older_than_s
 * go to activities, with their queued_at refreshed so the next sweep does not repeat them
 * at once; terminal attempts whose handoff has not run for older_than_s go to handoffs.
 * Both lists carry workflow_uid. */
weft_status weft_store_sweep(weft_store *s, int older_than_s, weft_dispatch_list *activities,
                             weft_dispatch_list *handoffs, weft_err *err);

#endif

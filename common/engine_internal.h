/* What engine.c lends the engine's other parts (compose.c): publishing and failing attempts
 * the way the consumers do. Not for use outside the engine. */
#ifndef WEFT_ENGINE_INTERNAL_H
#define WEFT_ENGINE_INTERNAL_H

#include "engine.h"
#include "message.h"

/* Publishes every dispatch of l (borrowed): an attempt of workflow wf (borrowed) to its queue,
 * or a handoff in its own workflow (store.h); then waits for all confirms at once. */
weft_status weft_engine_dispatch_all(weft_engine *e, const char *wf, const weft_dispatch_list *l,
                                     weft_err *err);

/* Publishes the handoff of attempt m (borrowed) and waits for its confirm. */
weft_status weft_engine_publish_handoff(weft_engine *e, const weft_attempt_msg *m, weft_err *err);

/* Fails attempt m (borrowed) of claim c (borrowed) with error (borrowed): for good when
 * permanent, else under its retry policy; then retries or hands off. */
weft_status weft_engine_fail_attempt(weft_engine *e, const weft_attempt_msg *m,
                                     const weft_claim *c, bool permanent, const char *error,
                                     weft_err *err);

#endif

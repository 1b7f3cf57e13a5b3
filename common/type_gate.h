/* A worker's limits per task type (DESIGN §10, the task file's `limit`): at most `limit`
 * attempts of a type run at once in this worker, whichever of its slots they hold.
 *
 * States of a type: below its limit (enter succeeds and counts one more) or at it (enter
 * fails and changes nothing); leave counts one less. Invariant: running <= limit for every
 * type, since enter and leave pair up under one mutex. A type without a limit always
 * enters. One gate per worker process, shared by its threads. */
#ifndef WEFT_TYPE_GATE_H
#define WEFT_TYPE_GATE_H

#include "taskfile.h"

#include <stdbool.h>

typedef struct weft_type_gate weft_type_gate;

/* The gate of the limits in tf (borrowed, read at once; NULL: no limits). Free with
 * weft_type_gate_destroy (accepts NULL). */
weft_type_gate *weft_type_gate_create(const weft_taskfile *tf);
void weft_type_gate_destroy(weft_type_gate *g);

/* Takes one place of task (borrowed) if it is below its limit; false when at it. */
bool weft_type_gate_enter(weft_type_gate *g, const char *task);
/* Gives back a place weft_type_gate_enter took. */
void weft_type_gate_leave(weft_type_gate *g, const char *task);

#endif

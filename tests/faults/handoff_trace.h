/* The handoff trace of the suite's fault-weft-handoff (fault_hooks.c,
 * WEFT_FAULTS_HANDOFF_TRACE): one line per handoff that succeeded,
 * "<workflow_uid> <shard> <start_ns> <end_ns> <pid>", on CLOCK_MONOTONIC. Read here into the
 * figures the sharded-handoff checks need: how the handoffs spread over the shards and the
 * processes, and whether two handoffs of one workflow ever overlapped in time, which the
 * shards' single active consumer with prefetch 1 must rule out. Used by fault_load
 * (`handoff-trace`) and by the integration test handoff_shards. */
#ifndef WEFT_HANDOFF_TRACE_H
#define WEFT_HANDOFF_TRACE_H

#include "queues.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HANDOFF_TRACE_MAX_PIDS 16

typedef struct {
    long handoffs;
    long workflows;
    long per_shard[WEFT_HANDOFF_SHARDS_MAX];
    int shards_used;                    /* shards with at least one handoff */
    pid_t pids[HANDOFF_TRACE_MAX_PIDS]; /* the processes that ran them, first seen first */
    long per_pid[HANDOFF_TRACE_MAX_PIDS];
    int npids;
    /* handoffs that started before an earlier-started one of the same workflow had ended */
    long overlaps;
    char first_overlap[200]; /* the first of them, for the message; "" when none */
} handoff_trace_report;

/* Reads the trace at path (borrowed) into *r (caller's memory). false, with the reason in
 * err (caller's buffer of errlen bytes), when it cannot be read or a line is malformed. */
bool handoff_trace_read(const char *path, handoff_trace_report *r, char *err, size_t errlen);

/* Handoffs pid ran, by r (borrowed). */
long handoff_trace_of_pid(const handoff_trace_report *r, pid_t pid);

#endif

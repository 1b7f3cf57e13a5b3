/* Exec tasks (DESIGN §9): attempts of a task-file task (taskfile.h) run by a program of the
 * user's, any language, that speaks JSON Lines on its stdin and stdout.
 *
 *   to the process, one line per attempt:
 *     {"id": "ACTIVITY_UID/ATTEMPT", "task", "workflow_uid", "activity_uid", "activity",
 *      "attempt", "params", "input", "upstream"}
 *     and, when the attempt is abandoned (timeout, silence, shutdown past its grace):
 *     {"id": "...", "cancel": true}
 *   from the process: any number of {"id", "progress": 0..100, "message"?} and
 *     {"id", "heartbeat": true} (each of them a sign of life), then one
 *     {"id", "status": "success", "data": {...}} or
 *     {"id", "status": "failure", "error": {"code": "TRANSIENT_ERROR"|"PERMANENT_ERROR",
 *      "message": "..."}}; its stderr lines go to weft's log with the attempt's context.
 *
 * A pool belongs to one worker slot (one runner, one thread). Process states per command:
 * none → running (spawned on the first attempt that needs it) → reused by every later
 * attempt of a persistent command → none again when it exits, breaks the protocol, outruns
 * its time, stays silent past the activity's heartbeat_s (no progress or heartbeat line for
 * that long, counted from the request) or is abandoned (it is stopped: cancel line, closed
 * stdin, SIGTERM, SIGKILL; the next attempt starts a new one). A oneshot command gets a
 * process per attempt, stopped the same way once it has answered. Every such end is a
 * failure of the attempt it happened in: TRANSIENT (a retry may meet a healthy process)
 * except an answer that can never be right (a line over the message limit, data that is not
 * an object): PERMANENT.
 *
 * Processes are started with posix_spawn (the worker is multithreaded: never a fork), in a
 * process group of their own, in the task file's folder, holding only their stdin, stdout
 * and stderr, with an environment of PATH, HOME and the task's env (and for a oneshot
 * attempt WEFT_WORKFLOW_UID, WEFT_ACTIVITY_UID, WEFT_ATTEMPT): none of weft's connection
 * URLs or secrets. A worker killed outright leaves its persistent processes a closed stdin,
 * on which a well-behaved one (the Python SDK) exits. */
#ifndef WEFT_EXEC_TASK_H
#define WEFT_EXEC_TASK_H

#include "runner.h"
#include "taskfile.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct weft_exec_pool weft_exec_pool;

/* A pool for the commands of tf (borrowed; must outlive it). max_line_bytes: the longest
 * line a process may write (the message limit). Free with weft_exec_pool_destroy (accepts
 * NULL), which stops its processes. */
weft_exec_pool *weft_exec_pool_create(const weft_taskfile *tf, size_t max_line_bytes);
void weft_exec_pool_destroy(weft_exec_pool *p);

/* Runs one attempt of task t (borrowed, of the pool's task file) with ctx (borrowed),
 * timeout_s (0: none) and opts (borrowed: idle is called about every 100 ms, grace_s after
 * a stop request, heartbeat_s of silence ends the attempt). On WEFT_TASK_OK *output is a new object; otherwise errbuf holds a reason
 * naming the task. *abandoned: a stop request's grace ran out first (hand the attempt
 * back). */
weft_task_result weft_exec_run(weft_exec_pool *p, const weft_taskfile_task *t,
                               const weft_task_ctx *ctx, int timeout_s,
                               const weft_runner_opts *opts, json_t **output, char *errbuf,
                               size_t errlen, bool *abandoned);

/* The pid of the persistent process serving task (borrowed), 0 when none runs. */
pid_t weft_exec_pid(const weft_exec_pool *p, const char *task);

#endif

/* Runs task handlers in a task process of its own, one per runner (one per worker thread):
 * a crash or a timeout then costs one attempt, not the worker, and the consumer keeps its
 * AMQP connection alive (heartbeats, confirms) while a long handler runs.
 *
 * The task process is a fresh exec of a program that serves tasks when its first argument
 * is WEFT_TASK_PROCESS_ARG (every binary that runs tasks does: weft-activity, the `weft`
 * CLI for direct mode): posix_spawn, never a bare fork. A fork of a multithreaded worker
 * copies every lock another thread held at that moment (the log mutex, OpenSSL's, the
 * resolver's) locked and with no owner, and a handler that takes one waits forever; an
 * exec starts with none. The task process holds nothing of its worker but the two pipes
 * (file descriptors 3 and 4) and stdin/stdout/stderr: no broker, database or Redis socket
 * outlives a dead worker in it.
 *
 * States: none → running (started on first use, reused from task to task: a process per
 * task would double the cost of a short task) → none again when it crashes, times out or
 * is abandoned (it is killed; the next task starts a new one) or when the runner is
 * destroyed. The task process ignores SIGTERM and SIGINT (the worker decides about stops
 * and grace) and dies with the thread that started it (PR_SET_PDEATHSIG).
 *
 * An attempt's time limit is the activity's timeout_s, or else the runner's
 * default_timeout_s: unless that is 0, a handler that hangs cannot hold its worker, and the
 * message the worker holds unacked, for ever.
 *
 * The tasks of the worker's task file (taskfile.h) do not run in the task process: an exec
 * task is a program of its own, run by the runner's exec pool (exec_task.h), one persistent
 * process per command for this runner's worker slot; an http task is a POST that the
 * runner's own thread makes and waits on (http_task.h: no user code runs in the worker, so
 * there is nothing to isolate). Their time limit is the activity's timeout_s, else the task
 * file's, else default_timeout_s. */
#ifndef WEFT_RUNNER_H
#define WEFT_RUNNER_H

#include "task.h"
#include "taskfile.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The hidden first argument that makes a program a task process. */
#define WEFT_TASK_PROCESS_ARG "--weft-task-process"

typedef struct weft_runner weft_runner;

/* Called about every 100 ms while a handler runs; arg is the caller's. */
typedef void (*weft_runner_idle_fn)(void *arg, int ms);

/* Called with an attempt's progress (0..100) and message (borrowed, may be NULL, valid
 * UTF-8) as an exec task reports it; arg is opts->idle_arg. */
typedef void (*weft_runner_progress_fn)(void *arg, double progress, const char *message);

typedef struct {
    int timeout_s; /* 0: the runner's default; past it the task process is killed and the
                      attempt is TRANSIENT */
    int grace_s;   /* after a stop request, how long the handler may still run */
    weft_runner_idle_fn idle;
    void *idle_arg;
    weft_runner_progress_fn progress; /* NULL: progress is not recorded */
    /* borrowed, may be NULL: once true (idle sets it) the attempt is stopped at once, as
     * abandoned: a built-in task's process is killed; an exec task gets its cancel line,
     * then SIGTERM, then SIGKILL, a second apart */
    const bool *cancel;
    /* the activity's heartbeat_s; 0: not watched. An exec task silent this long (no
     * progress or heartbeat line) is stopped, its process replaced, and the attempt is
     * TRANSIENT (exec_task.h). Built-in, plugin and http tasks cannot speak while they run:
     * they count as heartbeating as long as their task process lives or their request is
     * open, which the runner watches anyway; timeout_s bounds them */
    int heartbeat_s;
} weft_runner_opts;

typedef struct {
    /* borrowed, must outlive the runner: the program task processes are started from; it
     * must call weft_runner_is_task_process first thing in main. NULL: this program
     * (/proc/self/exe, the very build that runs, even when its file was replaced). */
    const char *exe;
    /* the limit of an attempt whose opts->timeout_s is 0; 0: none */
    int default_timeout_s;
    /* borrowed, must outlive the runner; NULL: none. Its tasks run as exec tasks. */
    const weft_taskfile *taskfile;
    /* the longest line an exec task may write, and the largest answer of an http task (the
     * message limit); 0: 1 MiB */
    size_t max_line_bytes;
} weft_runner_config;

/* A runner for the tasks of registry (borrowed; must outlive it), which must name the tasks
 * that cfg->exe registers as a task process: the runner answers an unregistered task
 * PERMANENT without starting a process. cfg (borrowed, copied; NULL: all defaults). Used by
 * one thread at a time. Free with weft_runner_destroy (accepts NULL), which ends the task
 * process. */
weft_runner *weft_runner_create(const weft_task_registry *tasks, const weft_runner_config *cfg);
void weft_runner_destroy(weft_runner *r);

/* Runs task `task` with ctx (borrowed) in the task process (or, for a task of the task
 * file, as an exec or http task) and returns its result; on
 * WEFT_TASK_OK *output is a new object, otherwise errbuf holds the reason. A crash or a
 * timeout is WEFT_TASK_TRANSIENT, an unregistered task PERMANENT. *abandoned is set (and the
 * result is meaningless) when a stop request's grace period ran out before the handler
 * finished, or when opts->cancel became true: the attempt should be handed back, not
 * failed. */
weft_task_result weft_runner_run(weft_runner *r, const char *task, const weft_task_ctx *ctx,
                                 const weft_runner_opts *opts, json_t **output, char *errbuf,
                                 size_t errlen, bool *abandoned);

/* The pid of r's task process, 0 while it has none (for diagnostics and tests). */
pid_t weft_runner_pid(const weft_runner *r);

/* The pid of the persistent exec process that serves task (borrowed) for r, 0 when none. */
pid_t weft_runner_exec_pid(const weft_runner *r, const char *task);

/* True when argv (borrowed) makes this program a task process. main() asks first, before it
 * starts a thread or opens a connection; when true it builds its task registry and returns
 * weft_runner_serve's status. */
bool weft_runner_is_task_process(int argc, char **argv);

/* The task process: runs the requests its runner sends, with the handlers of tasks
 * (borrowed), one after another, until the runner closes the pipe; returns the exit status
 * for main. Single-threaded. */
int weft_runner_serve(int argc, char **argv, const weft_task_registry *tasks);

#endif

#include "runner.h"

#include "alloc.h"
#include "clock.h"
#include "config.h"
#include "exec_task.h"
#include "http_task.h"
#include "log.h"
#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 100
/* A frame larger than this is a runaway handler, not an output. */
#define MAX_FRAME_BYTES (256u * 1024u * 1024u)
/* The task process's ends of its two pipes: posix_spawn places them there and closes
 * every descriptor above. */
#define CHILD_IN 3
#define CHILD_OUT 4
/* What /proc/self/exe names: the program that is running, by inode, not by path. */
#define SELF_EXE "/proc/self/exe"

extern char **environ;

struct weft_runner {
    const weft_task_registry *tasks;
    const char *exe;       /* NULL: SELF_EXE */
    int default_timeout_s; /* 0: none */
    pid_t pid;             /* 0: no task process */
    int to_child, from_child;
    const weft_taskfile *taskfile; /* NULL: none */
    weft_exec_pool *exec;          /* its processes; NULL without a task file */
    size_t max_message_bytes;      /* the largest answer of an exec or http task; 0: 1 MiB */
};

/* Moves all n bytes through fd, writing or reading, across short transfers and EINTR. */
static bool transfer_all(int fd, void *buf, size_t n, bool writing)
{
    char *p = buf;
    while (n > 0) {
        ssize_t got = writing ? write(fd, p, n) : read(fd, p, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        p += got;
        n -= (size_t)got;
    }
    return true;
}

static bool write_all(int fd, const void *buf, size_t n)
{
    return transfer_all(fd, (void *)buf, n, true);
}

static bool read_all(int fd, void *buf, size_t n)
{
    return transfer_all(fd, buf, n, false);
}

/* Frames are a 4-byte length in host order (both ends are this machine) and JSON text. */
static bool write_frame(int fd, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return false;
    uint32_t n = (uint32_t)strlen(text);
    bool ok = write_all(fd, &n, sizeof n) && write_all(fd, text, n);
    free(text);
    return ok;
}

/* write_frame with SIGPIPE blocked in this thread: a task process that died before it read
 * its request is an attempt's error, not a signal that ends a program that does not ignore
 * SIGPIPE (the CLI does not). */
static bool send_request(int fd, json_t *req)
{
    sigset_t pipe_only, old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    bool ok = write_frame(fd, req);
    if (!ok && errno == EPIPE) {
        struct timespec now = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &now) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

static json_t *read_frame(int fd)
{
    uint32_t n;
    if (!read_all(fd, &n, sizeof n) || n > MAX_FRAME_BYTES)
        return NULL;
    char *text = weft_xmalloc(n);
    /* NUL is allowed through so that an output holding one fails for what it is
     * (engine.c), not as a broken task process */
    json_t *msg = read_all(fd, text, n) ? json_loadb(text, n, JSON_ALLOW_NUL, NULL) : NULL;
    free(text);
    return msg;
}

/* Runs requests one after another until the worker closes the pipe; returns the exit status. */
static int serve_requests(const weft_task_registry *tasks)
{
    for (;;) {
        json_t *req = read_frame(CHILD_IN);
        if (!req)
            return 0;
        const char *name = json_string_value(json_object_get(req, "task"));
        weft_task_fn fn = name ? weft_task_lookup(tasks, name) : NULL;
        weft_task_ctx ctx = {
            .workflow_uid = json_string_value(json_object_get(req, "workflow_uid")),
            .activity_uid = json_string_value(json_object_get(req, "activity_uid")),
            .activity_name = json_string_value(json_object_get(req, "activity_name")),
            .attempt = (int)json_integer_value(json_object_get(req, "attempt")),
            .input = json_object_get(req, "input"),
            .params = json_object_get(req, "params"),
            .upstream = json_object_get(req, "upstream"),
            .data_dir = json_string_value(json_object_get(req, "data_dir")),
        };
        json_t *output = NULL;
        char err[512] = "";
        weft_task_result r = WEFT_TASK_PERMANENT;
        if (fn)
            r = fn(&ctx, &output, err, sizeof err);
        else
            snprintf(err, sizeof err, "task '%s' is not registered in this worker",
                     name ? name : "?");
        json_t *resp = json_pack("{s:i, s:o?, s:s}", "result", (int)r, "output",
                                 r == WEFT_TASK_OK ? output : NULL, "error", err);
        if (r != WEFT_TASK_OK)
            json_decref(output);
        if (!resp || !write_frame(CHILD_OUT, resp)) {
            json_t *bad = json_pack("{s:i, s:s}", "result", (int)WEFT_TASK_PERMANENT, "error",
                                    "task output is not serializable JSON");
            bool written = write_frame(CHILD_OUT, bad);
            json_decref(bad);
            if (!written) {
                json_decref(resp);
                json_decref(req);
                return 1;
            }
        }
        json_decref(resp);
        json_decref(req);
    }
}

bool weft_runner_is_task_process(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[1], WEFT_TASK_PROCESS_ARG) == 0;
}

int weft_runner_serve(int argc, char **argv, const weft_task_registry *tasks)
{
    /* The runner started this process with SIGTERM and SIGINT blocked, so a stop sent to the
     * whole process group or service (systemd signals every process of the unit) is ignored
     * from the first instruction: the worker alone decides, with its grace period. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN); /* a worker gone mid-answer is an error, as it is in the worker */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* argv: program WEFT_TASK_PROCESS_ARG worker-pid log-level log-format */
    long parent, level, format;
    if (argc != 5 || !weft_parse_int(argv[2], 1, INT_MAX, &parent) ||
        !weft_parse_int(argv[3], WEFT_LOG_DEBUG, WEFT_LOG_ERROR, &level) ||
        !weft_parse_int(argv[4], WEFT_LOG_TEXT, WEFT_LOG_JSON, &format)) {
        fprintf(stderr, "%s is started by a weft worker, not by hand\n", WEFT_TASK_PROCESS_ARG);
        return 2;
    }
    /* die with the worker; one that died before this line has left us to another parent */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != (pid_t)parent)
        return 1;
    prctl(PR_SET_NAME, "weft-task"); /* not "exe", after /proc/self/exe, in ps and top */
    weft_log_init("weft-task", (weft_log_level)level, (weft_log_format)format);
    return serve_requests(tasks);
}

weft_runner *weft_runner_create(const weft_task_registry *tasks, const weft_runner_config *cfg)
{
    weft_runner *r = weft_xcalloc(1, sizeof *r);
    r->tasks = tasks;
    if (cfg) {
        r->exe = cfg->exe;
        r->default_timeout_s = cfg->default_timeout_s;
        r->taskfile = cfg->taskfile;
        r->max_message_bytes = cfg->max_line_bytes;
    }
    if (r->taskfile)
        r->exec = weft_exec_pool_create(r->taskfile, cfg->max_line_bytes);
    r->to_child = r->from_child = -1;
    return r;
}

pid_t weft_runner_pid(const weft_runner *r)
{
    return r->pid;
}

pid_t weft_runner_exec_pid(const weft_runner *r, const char *task)
{
    return r->exec ? weft_exec_pid(r->exec, task) : 0;
}

static void stop_child(weft_runner *r, bool kill_it)
{
    if (!r->pid)
        return;
    close(r->to_child);
    close(r->from_child);
    if (kill_it)
        kill(r->pid, SIGKILL);
    while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    r->pid = 0;
    r->to_child = r->from_child = -1;
}

void weft_runner_destroy(weft_runner *r)
{
    if (!r)
        return;
    stop_child(r, false);
    weft_exec_pool_destroy(r->exec);
    free(r);
}

/* fd itself when it lies above the task process's fixed descriptors, else a close-on-exec
 * copy there (fd is closed): placing one pipe end on CHILD_IN must not overwrite the other
 * before it is placed on CHILD_OUT. -1 on failure. */
static int above_fixed(int fd)
{
    if (fd > CHILD_OUT)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, CHILD_OUT + 1), e = errno;
    close(fd);
    errno = e;
    return moved;
}

/* Starts the task process; false with errno set when it could not. */
static bool start_child(weft_runner *r)
{
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) != 0)
        return false;
    if (pipe2(up, O_CLOEXEC) != 0) {
        int e = errno;
        close(down[0]);
        close(down[1]);
        errno = e;
        return false;
    }
    down[0] = above_fixed(down[0]);
    up[1] = above_fixed(up[1]);
    char parent[24], level[8], format[8];
    snprintf(parent, sizeof parent, "%d", (int)getpid());
    snprintf(level, sizeof level, "%d", (int)weft_log_min_level);
    snprintf(format, sizeof format, "%d", (int)weft_log_get_format());
    /* argv[0] as the worker's own, so that ps shows which program the task process serves */
    const char *exe = r->exe ? r->exe : SELF_EXE;
    char *argv[] = {r->exe ? (char *)r->exe : program_invocation_name,
                    (char *)WEFT_TASK_PROCESS_ARG,
                    parent,
                    level,
                    format,
                    NULL};
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    int rc = down[0] < 0 || up[1] < 0 ? errno : 0;
    pid_t pid = 0;
    if (!rc && !(rc = posix_spawn_file_actions_init(&actions))) {
        if (!(rc = posix_spawnattr_init(&attr))) {
            /* dup2 clears close-on-exec on the copies; closefrom drops everything else the
             * worker holds, inheritable or not: no library has to mark its sockets */
            if (!(rc = posix_spawn_file_actions_adddup2(&actions, down[0], CHILD_IN)) &&
                !(rc = posix_spawn_file_actions_adddup2(&actions, up[1], CHILD_OUT)) &&
                !(rc = posix_spawn_file_actions_addclosefrom_np(&actions, CHILD_OUT + 1)) &&
                !(rc = posix_spawnattr_setsigmask(&attr, &stops)) &&
                !(rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK)))
                rc = posix_spawn(&pid, exe, &actions, &attr, argv, environ);
            posix_spawnattr_destroy(&attr);
        }
        posix_spawn_file_actions_destroy(&actions);
    }
    int fds[] = {down[0], up[1]};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (rc) {
        close(down[1]);
        close(up[0]);
        errno = rc;
        return false;
    }
    r->pid = pid;
    r->to_child = down[1];
    r->from_child = up[0];
    return true;
}

static weft_task_result fail_with(char *errbuf, size_t errlen, weft_task_result res,
                                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static weft_task_result fail_with(char *errbuf, size_t errlen, weft_task_result res,
                                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    return res;
}

/* Waits for the task process to answer, servicing idle meanwhile. Returns NULL and sets
 * *why ("timeout", "shutdown", "died") when it did not. */
static json_t *await_answer(weft_runner *r, const weft_runner_opts *opts, int timeout_s,
                            const char **why)
{
    double start = weft_clock_s(), stop_at = 0;
    for (;;) {
        struct pollfd p = {r->from_child, POLLIN, 0};
        int rc = poll(&p, 1, POLL_MS);
        if (rc > 0) {
            json_t *msg = read_frame(r->from_child);
            if (!msg)
                *why = "died";
            return msg;
        }
        if (opts->idle)
            opts->idle(opts->idle_arg, 0);
        if (opts->cancel && *opts->cancel) {
            *why = "canceled";
            return NULL;
        }
        double t = weft_clock_s();
        if (timeout_s > 0 && t - start >= timeout_s) {
            *why = "timeout";
            return NULL;
        }
        if (weft_stop_requested && stop_at == 0)
            stop_at = t;
        if (stop_at > 0 && t - stop_at >= opts->grace_s) {
            *why = "shutdown";
            return NULL;
        }
    }
}

/* The time limit of an attempt of a task-file task whose own timeout_s is file_timeout_s. */
static int taskfile_limit(const weft_runner *r, const weft_runner_opts *opts, int file_timeout_s)
{
    return opts->timeout_s > 0  ? opts->timeout_s
           : file_timeout_s > 0 ? file_timeout_s
                                : r->default_timeout_s;
}

weft_task_result weft_runner_run(weft_runner *r, const char *task, const weft_task_ctx *ctx,
                                 const weft_runner_opts *opts, json_t **output, char *errbuf,
                                 size_t errlen, bool *abandoned)
{
    *output = NULL;
    *abandoned = false;
    const weft_taskfile_task *exec = weft_taskfile_find(r->taskfile, task);
    if (exec)
        return weft_exec_run(r->exec, exec, ctx, taskfile_limit(r, opts, exec->timeout_s), opts,
                             output, errbuf, errlen, abandoned);
    const weft_taskfile_http *http = weft_taskfile_find_http(r->taskfile, task);
    if (http)
        return weft_http_task_run(http, ctx, taskfile_limit(r, opts, http->timeout_s), opts,
                                  r->max_message_bytes, output, errbuf, errlen, abandoned);
    if (!weft_task_lookup(r->tasks, task))
        return fail_with(errbuf, errlen, WEFT_TASK_PERMANENT,
                         "task '%s' is not registered in this worker", task);
    if (!r->pid && !start_child(r))
        return fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "cannot start a task process: %s",
                         strerror(errno));
    json_t *req =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:O, s:O, s:O, s:s?}", "task", task, "workflow_uid",
                  ctx->workflow_uid, "activity_uid", ctx->activity_uid, "activity_name",
                  ctx->activity_name, "attempt", ctx->attempt, "input", ctx->input, "params",
                  ctx->params, "upstream", ctx->upstream, "data_dir", ctx->data_dir);
    bool sent = req && send_request(r->to_child, req);
    json_decref(req);
    int timeout_s = opts->timeout_s > 0 ? opts->timeout_s : r->default_timeout_s;
    const char *why = "died";
    json_t *resp = sent ? await_answer(r, opts, timeout_s, &why) : NULL;
    if (!resp) {
        /* the process is gone or must go: learn how it ended, then start afresh next time */
        int status = 0;
        pid_t pid = r->pid;
        close(r->to_child);
        close(r->from_child);
        if (strcmp(why, "died") != 0)
            kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        r->pid = 0;
        if (strcmp(why, "shutdown") == 0 || strcmp(why, "canceled") == 0) {
            *abandoned = true;
            return fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "stopped by %s",
                             *why == 's' ? "shutdown" : "cancel");
        }
        if (strcmp(why, "timeout") == 0)
            return fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT,
                             "task '%s' timed out after %d s%s", ctx->activity_name, timeout_s,
                             opts->timeout_s > 0 ? ""
                                                 : " (the default limit: its activity sets no "
                                                   "timeout_s)");
        if (WIFSIGNALED(status))
            return fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT,
                             "task process crashed (signal %d: %s)", WTERMSIG(status),
                             strsignal(WTERMSIG(status)));
        return fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "task process exited with status %d",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    json_t *result = json_object_get(resp, "result");
    weft_task_result res = (weft_task_result)json_integer_value(result);
    const char *e = json_string_value(json_object_get(resp, "error"));
    snprintf(errbuf, errlen, "%s", e ? e : "");
    if (!json_is_integer(result))
        res = fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "task process sent no result");
    else if (res == WEFT_TASK_OK)
        *output = json_incref(json_object_get(resp, "output"));
    json_decref(resp);
    return res;
}

#include "runner.h"

#include "alloc.h"
#include "clock.h"
#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define POLL_MS 100
/* A frame larger than this is a runaway handler, not an output. */
#define MAX_FRAME_BYTES (256u * 1024u * 1024u)
/* The task process's ends of its two pipes, after it tidied its descriptors. */
#define CHILD_IN 3
#define CHILD_OUT 4

struct weft_runner {
    const weft_task_registry *tasks;
    pid_t pid; /* 0: no task process */
    int to_child, from_child;
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

/* The task process: run requests one after another until the worker closes the pipe. */
static void child_main(const weft_task_registry *tasks)
{
    for (;;) {
        json_t *req = read_frame(CHILD_IN);
        if (!req)
            _exit(0);
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
            if (!write_frame(CHILD_OUT, bad))
                _exit(1);
            json_decref(bad);
        }
        json_decref(resp);
        json_decref(req);
    }
}

weft_runner *weft_runner_create(const weft_task_registry *tasks)
{
    weft_runner *r = weft_xcalloc(1, sizeof *r);
    r->tasks = tasks;
    r->to_child = r->from_child = -1;
    return r;
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
    free(r);
}

static bool start_child(weft_runner *r)
{
    int down[2], up[2];
    if (pipe2(down, O_CLOEXEC) != 0)
        return false;
    if (pipe2(up, O_CLOEXEC) != 0) {
        close(down[0]);
        close(down[1]);
        return false;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(down[0]);
        close(down[1]);
        close(up[0]);
        close(up[1]);
        return false;
    }
    if (pid == 0) {
        /* the worker decides about stops (grace period); die with it if it dies */
        signal(SIGTERM, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        /* keep only the two pipes: the worker's broker and database sockets must close
         * when the worker dies, not live on in its task process */
        int in = fcntl(down[0], F_DUPFD, 16), out = fcntl(up[1], F_DUPFD, 16);
        if (in < 0 || out < 0 || dup2(in, CHILD_IN) < 0 || dup2(out, CHILD_OUT) < 0)
            _exit(1);
        closefrom(CHILD_OUT + 1);
        child_main(r->tasks);
    }
    close(down[0]);
    close(up[1]);
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
static json_t *await_answer(weft_runner *r, const weft_runner_opts *opts, const char **why)
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
        double t = weft_clock_s();
        if (opts->timeout_s > 0 && t - start >= opts->timeout_s) {
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

weft_task_result weft_runner_run(weft_runner *r, const char *task, const weft_task_ctx *ctx,
                                 const weft_runner_opts *opts, json_t **output, char *errbuf,
                                 size_t errlen, bool *abandoned)
{
    *output = NULL;
    *abandoned = false;
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
    bool sent = req && write_frame(r->to_child, req);
    json_decref(req);
    const char *why = "died";
    json_t *resp = sent ? await_answer(r, opts, &why) : NULL;
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
        if (strcmp(why, "shutdown") == 0) {
            *abandoned = true;
            return fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "stopped by shutdown");
        }
        if (strcmp(why, "timeout") == 0)
            return fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "task '%s' timed out after %d s",
                             ctx->activity_name, opts->timeout_s);
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

#include "runner.h"

#include "alloc.h"
#include "consumer.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 100
/* A result larger than this is a runaway handler, not an output. */
#define MAX_RESULT_BYTES (256u * 1024u * 1024u)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* The child: run the handler, send {"result", "output", "error"} up the pipe, exit. */
static void child_main(int fd, pid_t parent, weft_task_fn fn, const weft_task_ctx *ctx)
{
    /* the parent decides about stops (grace period); die with it if it dies */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    json_t *output = NULL;
    char err[512] = "";
    weft_task_result r = fn(ctx, &output, err, sizeof err);
    json_t *msg = json_pack("{s:i, s:o?, s:s}", "result", (int)r, "output",
                            r == WEFT_TASK_OK ? output : NULL, "error", err);
    if (r != WEFT_TASK_OK)
        json_decref(output);
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    if (!text)
        text = weft_xstrdup("{\"result\":2,\"error\":\"task output is not serializable JSON\"}");
    _exit(write_all(fd, text, strlen(text)) ? 0 : 1);
}

static weft_task_result fail_with(char *errbuf, size_t errlen, weft_task_result r, const char *fmt,
                                  ...) __attribute__((format(printf, 4, 5)));
static weft_task_result fail_with(char *errbuf, size_t errlen, weft_task_result r, const char *fmt,
                                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    return r;
}

/* Reads the child's report (text, borrowed) into the result. */
static weft_task_result decode(const char *text, size_t len, json_t **output, char *errbuf,
                               size_t errlen)
{
    json_t *msg = json_loadb(text, len, 0, NULL);
    json_t *result = json_object_get(msg, "result");
    weft_task_result r;
    if (!json_is_integer(result)) {
        r = fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "task process sent no result");
    } else {
        r = (weft_task_result)json_integer_value(result);
        const char *e = json_string_value(json_object_get(msg, "error"));
        snprintf(errbuf, errlen, "%s", e ? e : "");
        if (r == WEFT_TASK_OK)
            *output = json_incref(json_object_get(msg, "output"));
    }
    json_decref(msg);
    return r;
}

weft_task_result weft_runner_run(weft_task_fn fn, const weft_task_ctx *ctx,
                                 const weft_runner_opts *opts, json_t **output, char *errbuf,
                                 size_t errlen, bool *abandoned)
{
    *output = NULL;
    *abandoned = false;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "cannot create a pipe: %s",
                         strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "cannot fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], parent, fn, ctx);
    }
    close(fds[1]);

    size_t cap = 4096, len = 0;
    char *buf = weft_xmalloc(cap);
    double start = now_s(), stop_at = 0;
    const char *killed_for = NULL;
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        int rc = poll(&p, 1, POLL_MS);
        if (rc > 0) {
            if (len + 65536 > cap)
                buf = weft_xrealloc(buf, cap = cap * 2 + 65536);
            ssize_t got = read(fds[0], buf + len, cap - len);
            if (got == 0)
                break;
            if (got > 0)
                len += (size_t)got;
            if (len > MAX_RESULT_BYTES) {
                killed_for = "output";
                break;
            }
            continue;
        }
        if (opts->idle)
            opts->idle(opts->idle_arg, 0);
        double t = now_s();
        if (opts->timeout_s > 0 && t - start >= opts->timeout_s) {
            killed_for = "timeout";
            break;
        }
        if (weft_stop_requested && stop_at == 0)
            stop_at = t;
        if (stop_at > 0 && t - stop_at >= opts->grace_s) {
            killed_for = "shutdown";
            break;
        }
    }
    close(fds[0]);
    if (killed_for)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    weft_task_result r;
    if (killed_for && strcmp(killed_for, "shutdown") == 0) {
        *abandoned = true;
        r = fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "stopped by shutdown");
    } else if (killed_for && strcmp(killed_for, "timeout") == 0) {
        r = fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "task '%s' timed out after %d s",
                      ctx->activity_name, opts->timeout_s);
    } else if (killed_for) {
        r = fail_with(errbuf, errlen, WEFT_TASK_PERMANENT, "task output over %u bytes",
                      MAX_RESULT_BYTES);
    } else if (WIFSIGNALED(status)) {
        r = fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "task process crashed (signal %d: %s)",
                      WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || len == 0) {
        r = fail_with(errbuf, errlen, WEFT_TASK_TRANSIENT, "task process exited with status %d",
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else {
        r = decode(buf, len, output, errbuf, errlen);
    }
    free(buf);
    return r;
}

#include "exec_task.h"

#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "stop.h"
#include "task_protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 100
/* How long a process may take to go after its stdin closed (or its cancel line), and then
 * after SIGTERM, before the next step. */
#define STOP_STEP_MS 1000
/* A stderr line longer than this is logged in pieces. */
#define MAX_LOG_LINE 4096
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
/* A progress message is a status line, not a report: longer ones are cut. */
#define MAX_PROGRESS_MESSAGE 500

typedef struct {
    char *data;
    size_t len, cap;
} line_buf;

typedef struct {
    pid_t pid; /* 0: none */
    int in, out, err;
    line_buf outb, errb;
} exec_proc;

struct weft_exec_pool {
    const weft_taskfile *tf;
    size_t max_line;
    exec_proc *procs; /* one per command; only persistent ones are kept */
};

/* What one attempt is about, for its log lines and errors. */
typedef struct {
    const weft_taskfile_task *t;
    const weft_task_ctx *ctx;
    const weft_runner_opts *opts; /* NULL outside an attempt */
    char id[WEFT_PROTOCOL_ID_LEN];
    double heard_at; /* the attempt's start, then its last progress or heartbeat line */
} attempt;

static void buf_append(line_buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = weft_xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* Drops the first n bytes of b. */
static void buf_consume(line_buf *b, size_t n)
{
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

weft_exec_pool *weft_exec_pool_create(const weft_taskfile *tf, size_t max_line_bytes)
{
    weft_exec_pool *p = weft_xcalloc(1, sizeof *p);
    p->tf = tf;
    p->max_line = max_line_bytes ? max_line_bytes : 1024 * 1024;
    p->procs = weft_xcalloc(tf->ncommands + 1, sizeof *p->procs);
    for (size_t i = 0; i <= tf->ncommands; i++)
        p->procs[i].in = p->procs[i].out = p->procs[i].err = -1;
    return p;
}

/* Logs each complete line of stderr (and, with flush, what is left) under the attempt. */
static void log_stderr(const attempt *a, exec_proc *pr, bool flush)
{
    line_buf *b = &pr->errb;
    for (;;) {
        char *nl = b->len ? memchr(b->data, '\n', b->len) : NULL;
        size_t n = nl ? (size_t)(nl - b->data) : b->len;
        if (!nl && !(flush && b->len) && b->len < MAX_LOG_LINE)
            return;
        if (n > MAX_LOG_LINE)
            n = MAX_LOG_LINE;
        WEFT_LOG(WEFT_LOG_INFO, a->ctx ? a->ctx->workflow_uid : NULL,
                 a->ctx ? a->ctx->activity_uid : NULL, "task '%s' (pid %d) stderr: %.*s",
                 a->t->name, (int)pr->pid, (int)n, b->data);
        buf_consume(b, nl && n == (size_t)(nl - b->data) ? n + 1 : n);
    }
}

/* Reads what fd has now into b; false at end of file or on an error. */
static bool read_into(int fd, line_buf *b)
{
    char chunk[65536];
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got > 0) {
            buf_append(b, chunk, (size_t)got);
            if ((size_t)got < sizeof chunk)
                return true;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        return got < 0 && errno == EAGAIN;
    }
}

static void drain_stderr(const attempt *a, exec_proc *pr)
{
    if (pr->err >= 0 && !read_into(pr->err, &pr->errb))
        close_fd(&pr->err);
    log_stderr(a, pr, pr->err < 0);
}

/* Waits up to ms for pr to exit, logging its stderr meanwhile; true when it did (*status
 * holds how). */
static bool reap_within(const attempt *a, exec_proc *pr, int ms, int *status)
{
    double until = weft_clock_s() + ms / 1000.0;
    for (;;) {
        pid_t got = waitpid(pr->pid, status, WNOHANG);
        if (got == pr->pid || (got < 0 && errno != EINTR))
            return true;
        if (weft_clock_s() >= until)
            return false;
        struct pollfd f = {pr->err, POLLIN, 0};
        if (pr->err >= 0 && poll(&f, 1, 20) > 0)
            drain_stderr(a, pr);
        else if (pr->err < 0)
            weft_clock_sleep_ms(20);
    }
}

/* Writes with SIGPIPE held off in this thread: a process gone before it read its line is an
 * attempt's error, not a signal for a program that does not ignore SIGPIPE. */
static ssize_t write_nosig(int fd, const char *p, size_t n)
{
    sigset_t pipe_only, old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    ssize_t w;
    do
        w = write(fd, p, n);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno == EPIPE) {
        struct timespec now = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &now) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return w;
}

/* Ends pr: the cancel line (when cancel_id), its stdin closed, then SIGTERM and SIGKILL to
 * its process group, each after a short wait; then closes what is left of it. Returns how it
 * ended (waitpid status; 0 when it was reaped already, pid 0). */
static int stop_proc(const attempt *a, exec_proc *pr, const char *cancel_id)
{
    int status = 0;
    if (pr->pid) {
        if (cancel_id && pr->in >= 0) {
            char *line = weft_xasprintf("{\"id\": \"%s\", \"cancel\": true}\n", cancel_id);
            write_nosig(pr->in, line, strlen(line));
            free(line);
        }
        close_fd(&pr->in);
        bool gone = reap_within(a, pr, cancel_id ? STOP_STEP_MS : 50, &status);
        if (!gone) {
            kill(-pr->pid, SIGTERM);
            gone = reap_within(a, pr, STOP_STEP_MS, &status);
        }
        if (!gone) {
            kill(-pr->pid, SIGKILL);
            while (waitpid(pr->pid, &status, 0) < 0 && errno == EINTR)
                ;
        }
    }
    /* what it still said on the way out */
    if (pr->err >= 0)
        drain_stderr(a, pr);
    log_stderr(a, pr, true);
    close_fd(&pr->in);
    close_fd(&pr->out);
    close_fd(&pr->err);
    free(pr->outb.data);
    free(pr->errb.data);
    *pr = (exec_proc){.in = -1, .out = -1, .err = -1};
    return status;
}

void weft_exec_pool_destroy(weft_exec_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i <= p->tf->ncommands; i++) {
        if (!p->procs[i].pid)
            continue;
        const weft_taskfile_task *t = NULL;
        for (size_t j = 0; j < p->tf->n && !t; j++)
            if (p->tf->tasks[j].command == i)
                t = &p->tf->tasks[j];
        attempt a = {.t = t};
        /* a closed stdin is the end of the work: give it a moment to go on its own */
        close_fd(&p->procs[i].in);
        int status;
        if (reap_within(&a, &p->procs[i], STOP_STEP_MS, &status))
            p->procs[i].pid = 0;
        stop_proc(&a, &p->procs[i], NULL);
    }
    free(p->procs);
    free(p);
}

pid_t weft_exec_pid(const weft_exec_pool *p, const char *task)
{
    const weft_taskfile_task *t = weft_taskfile_find(p->tf, task);
    return t && t->mode == WEFT_EXEC_PERSISTENT ? p->procs[t->command].pid : 0;
}

static bool env_has(char **env, const char *name)
{
    size_t n = strlen(name);
    for (; *env; env++)
        if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
            return true;
    return false;
}

/* The child's environment: PATH and HOME (the worker's, unless the task sets them), the
 * task's env, and a oneshot attempt's identity. New array of new strings. */
static char **child_env(const attempt *a)
{
    const weft_taskfile_task *t = a->t;
    size_t n = 0;
    while (t->env[n])
        n++;
    char **env = weft_xcalloc(n + 6, sizeof *env);
    size_t k = 0;
    const char *path = getenv("PATH"), *home = getenv("HOME");
    if (!env_has(t->env, "PATH"))
        env[k++] = weft_xasprintf("PATH=%s", path && *path ? path : DEFAULT_PATH);
    if (home && !env_has(t->env, "HOME"))
        env[k++] = weft_xasprintf("HOME=%s", home);
    for (size_t i = 0; i < n; i++)
        env[k++] = weft_xstrdup(t->env[i]);
    if (t->mode == WEFT_EXEC_ONESHOT) {
        env[k++] = weft_xasprintf("WEFT_WORKFLOW_UID=%s", a->ctx->workflow_uid);
        env[k++] = weft_xasprintf("WEFT_ACTIVITY_UID=%s", a->ctx->activity_uid);
        env[k++] = weft_xasprintf("WEFT_ATTEMPT=%d", a->ctx->attempt);
    }
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

/* Starts a's program into pr; 0, or the errno of the failure. */
static int spawn_proc(weft_exec_pool *p, const attempt *a, exec_proc *pr)
{
    int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    for (int i = 0; i < 3; i++)
        if (pipe2(fds[i], O_CLOEXEC) != 0) {
            int e = errno;
            for (int j = 0; j < i; j++) {
                close(fds[j][0]);
                close(fds[j][1]);
            }
            return e;
        }
    int child[3] = {fds[0][0], fds[1][1], fds[2][1]};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, dflt;
    sigemptyset(&none);
    sigemptyset(&dflt);
    /* an ignored signal stays ignored across exec: the worker ignores SIGPIPE */
    int dflt_sigs[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof dflt_sigs / sizeof dflt_sigs[0]; i++)
        sigaddset(&dflt, dflt_sigs[i]);
    char **env = child_env(a);
    pid_t pid = 0;
    int rc = posix_spawn_file_actions_init(&fa);
    if (!rc) {
        if (!(rc = posix_spawnattr_init(&attr))) {
            for (int i = 0; i < 3 && !rc; i++)
                rc = posix_spawn_file_actions_adddup2(&fa, child[i], i);
            if (!rc)
                rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
            if (!rc)
                rc = posix_spawn_file_actions_addchdir_np(&fa, p->tf->dir);
            /* a group of its own: a stop sent to the worker's group is the worker's to
             * decide, and stopping the task reaches what it started */
            if (!rc)
                rc = posix_spawnattr_setpgroup(&attr, 0);
            if (!rc)
                rc = posix_spawnattr_setsigmask(&attr, &none);
            if (!rc)
                rc = posix_spawnattr_setsigdefault(&attr, &dflt);
            if (!rc)
                rc = posix_spawnattr_setflags(
                    &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
            if (!rc)
                rc = posix_spawn(&pid, a->t->program, &fa, &attr, a->t->argv, env);
            posix_spawnattr_destroy(&attr);
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    free_env(env);
    for (int i = 0; i < 3; i++)
        close(child[i]);
    if (rc) {
        close(fds[0][1]);
        close(fds[1][0]);
        close(fds[2][0]);
        return rc;
    }
    *pr = (exec_proc){.pid = pid, .in = fds[0][1], .out = fds[1][0], .err = fds[2][0]};
    for (int i = 0; i < 3; i++)
        fcntl((&pr->in)[i], F_SETFL, O_NONBLOCK);
    return 0;
}

/* The byte offset of the first invalid UTF-8 sequence in s, or -1. */
static long utf8_invalid_at(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (!k || (k == 2 && c < 0xC2) || i + k > n)
            return (long)i;
        unsigned cp = k == 1 ? c : c & (0x7F >> k);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return (long)i;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return (long)i;
        i += k;
    }
    return -1;
}

/* The outcome of one line from the process. */
typedef enum { LINE_MORE, LINE_DONE } line_verdict;

/* Judges one stdout line (n bytes, no newline). LINE_DONE with *res and errbuf (and
 * *output on success) when it ends the attempt: a result, or a protocol violation
 * (*violation set). */
static line_verdict judge_line(attempt *a, const char *line, size_t n, weft_task_result *res,
                               json_t **output, bool *violation, char *errbuf, size_t errlen)
{
    const char *name = a->t->name;
    *violation = true;
    size_t blank = 0;
    while (blank < n && (line[blank] == ' ' || line[blank] == '\t' || line[blank] == '\r'))
        blank++;
    if (blank == n) {
        *violation = false;
        return LINE_MORE; /* an empty line says nothing; tolerated */
    }
    long bad = utf8_invalid_at((const unsigned char *)line, n);
    if (bad >= 0) {
        *res = weft_protocol_fail(
            errbuf, errlen, WEFT_TASK_TRANSIENT,
            "task '%s' wrote a line that is not valid UTF-8 (byte %ld of the line)", name, bad + 1);
        return LINE_DONE;
    }
    json_error_t je;
    json_t *msg = json_loadb(line, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(msg)) {
        char start[64];
        weft_protocol_printable(start, sizeof start, line, n);
        *res = weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                  "task '%s' wrote a line that is not a JSON object%s%s%s: '%s'",
                                  name, msg ? "" : " (", msg ? "" : je.text, msg ? "" : ")", start);
        json_decref(msg);
        return LINE_DONE;
    }
    line_verdict v = LINE_DONE;
    const char *id = json_string_value(json_object_get(msg, "id"));
    const json_t *progress = json_object_get(msg, "progress");
    const json_t *heartbeat = json_object_get(msg, "heartbeat");
    const char *status = json_string_value(json_object_get(msg, "status"));
    if (!id) {
        *res = weft_protocol_fail(
            errbuf, errlen, WEFT_TASK_TRANSIENT,
            "task '%s' wrote a line without a string \"id\" (this attempt is \"%s\")", name, a->id);
    } else if (strcmp(id, a->id) != 0) {
        char other[104];
        weft_protocol_printable(other, sizeof other, id, strlen(id));
        *res = weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                  "task '%s' answered for \"%s\", not for this attempt \"%s\"",
                                  name, other, a->id);
    } else if (progress) {
        const json_t *m = json_object_get(msg, "message");
        if (!json_is_number(progress) || json_number_value(progress) < 0 ||
            json_number_value(progress) > 100 || (m && !json_is_string(m))) {
            *res = weft_protocol_fail(
                errbuf, errlen, WEFT_TASK_TRANSIENT,
                "task '%s' sent a progress line whose progress is not a number in"
                " 0..100 (or whose message is not a string)",
                name);
        } else {
            if (a->opts && a->opts->progress) {
                char text[MAX_PROGRESS_MESSAGE + 1] = "";
                if (m)
                    snprintf(text, sizeof text, "%s", json_string_value(m));
                weft_protocol_utf8_trim(text);
                a->opts->progress(a->opts->idle_arg, json_number_value(progress), m ? text : NULL);
            }
            a->heard_at = weft_clock_s();
            *violation = false;
            v = LINE_MORE;
        }
    } else if (heartbeat) {
        if (!json_is_true(heartbeat)) {
            *res = weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                      "task '%s' sent a heartbeat line whose \"heartbeat\" is not"
                                      " true",
                                      name);
        } else {
            a->heard_at = weft_clock_s();
            *violation = false;
            v = LINE_MORE;
        }
    } else if (status && (strcmp(status, "success") == 0 || strcmp(status, "failure") == 0)) {
        *res = weft_protocol_result(name, msg, output, violation, errbuf, errlen);
    } else {
        *res = weft_protocol_fail(
            errbuf, errlen, WEFT_TASK_TRANSIENT,
            "task '%s' wrote a line that is neither progress, a heartbeat nor a result (\"status\""
            " must be \"success\" or \"failure\")",
            name);
    }
    json_decref(msg);
    return v;
}

/* The attempt's request as one line, newline included: new string, or NULL. */
static char *request_line(const attempt *a, size_t *len)
{
    char *text = weft_protocol_request(a->t->name, a->id, a->ctx, len);
    if (!text)
        return NULL;
    char *line = weft_xmalloc(*len + 2);
    memcpy(line, text, *len);
    line[(*len)++] = '\n';
    line[*len] = '\0';
    free(text);
    return line;
}

/* How a process that ended by itself ended, for an error line. */
static void describe_exit(int status, char *buf, size_t n)
{
    if (WIFSIGNALED(status))
        snprintf(buf, n, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, n, "exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

weft_task_result weft_exec_run(weft_exec_pool *p, const weft_taskfile_task *t,
                               const weft_task_ctx *ctx, int timeout_s,
                               const weft_runner_opts *opts, json_t **output, char *errbuf,
                               size_t errlen, bool *abandoned)
{
    *output = NULL;
    *abandoned = false;
    attempt a = {.t = t, .ctx = ctx, .opts = opts};
    weft_protocol_attempt_id(ctx, a.id);
    bool oneshot = t->mode == WEFT_EXEC_ONESHOT;
    exec_proc one = {.in = -1, .out = -1, .err = -1};
    exec_proc *pr = oneshot ? &one : &p->procs[t->command];
    int status = 0;
    if (pr->pid && waitpid(pr->pid, &status, WNOHANG) == pr->pid) {
        char how[96];
        describe_exit(status, how, sizeof how);
        WEFT_LOG(WEFT_LOG_WARN, ctx->workflow_uid, ctx->activity_uid,
                 "task '%s': its process (pid %d) %s between attempts; starting a new one", t->name,
                 (int)pr->pid, how);
        pr->pid = 0; /* reaped already */
        drain_stderr(&a, pr);
        stop_proc(&a, pr, NULL);
    }
    if (!pr->pid) {
        int e = spawn_proc(p, &a, pr);
        if (e)
            return weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                      "task '%s': cannot start '%s': %s", t->name, t->program,
                                      strerror(e));
        WEFT_LOG(WEFT_LOG_DEBUG, ctx->workflow_uid, ctx->activity_uid,
                 "task '%s': started %s (pid %d)", t->name, t->argv[0], (int)pr->pid);
    }
    size_t req_len = 0, sent = 0;
    char *req = request_line(&a, &req_len);
    if (!req) {
        if (oneshot)
            stop_proc(&a, pr, NULL);
        return weft_protocol_fail(errbuf, errlen, WEFT_TASK_PERMANENT,
                                  "task '%s': its request cannot be written as JSON", t->name);
    }
    weft_task_result res = WEFT_TASK_TRANSIENT;
    bool done = false, violation = false, timed_out = false, stopped = false, exited = false,
         canceled = false, silent = false;
    double start = weft_clock_s(), last_idle = start, stop_at = 0;
    a.heard_at = start;
    while (!done) {
        struct pollfd f[3] = {
            {sent < req_len ? pr->in : -1, POLLOUT, 0}, {pr->out, POLLIN, 0}, {pr->err, POLLIN, 0}};
        int rc = poll(f, 3, POLL_MS);
        if (rc < 0 && errno != EINTR) {
            exited = true;
            break;
        }
        if (rc > 0 && (f[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write_nosig(pr->in, req + sent, req_len - sent);
            if (w > 0)
                sent += (size_t)w;
            else if (errno != EAGAIN)
                sent = req_len; /* it closed its stdin: its exit (or answer) tells the rest */
            if (sent == req_len && oneshot)
                close_fd(&pr->in); /* the whole request: a oneshot program may read to EOF */
        }
        if (rc > 0 && (f[2].revents & (POLLIN | POLLHUP | POLLERR)))
            drain_stderr(&a, pr);
        if (rc > 0 && (f[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            bool open = read_into(pr->out, &pr->outb);
            char *nl;
            while (!done && pr->outb.len && (nl = memchr(pr->outb.data, '\n', pr->outb.len))) {
                size_t n = (size_t)(nl - pr->outb.data);
                if (n > p->max_line)
                    break;
                done = judge_line(&a, pr->outb.data, n, &res, output, &violation, errbuf, errlen) ==
                       LINE_DONE;
                buf_consume(&pr->outb, n + 1);
            }
            if (!done && pr->outb.len > p->max_line) {
                res = weft_protocol_fail(
                    errbuf, errlen, WEFT_TASK_PERMANENT,
                    "task '%s' wrote a line of more than %zu bytes (the message limit,"
                    " WEFT_MAX_MESSAGE_BYTES)",
                    t->name, p->max_line);
                done = violation = true;
            }
            if (!done && !open) {
                exited = done = true;
                close_fd(&pr->out);
            }
        }
        double now = weft_clock_s();
        if (now - last_idle >= POLL_MS / 1000.0) {
            last_idle = now;
            if (opts->idle)
                opts->idle(opts->idle_arg, 0);
        }
        if (!done && opts->cancel && *opts->cancel)
            canceled = stopped = done = true;
        if (!done && timeout_s > 0 && now - start >= timeout_s)
            timed_out = done = true;
        if (!done && opts->heartbeat_s > 0 && now - a.heard_at >= opts->heartbeat_s)
            silent = done = true;
        if (weft_stop_requested && stop_at == 0)
            stop_at = now;
        if (!done && stop_at > 0 && now - stop_at >= opts->grace_s)
            stopped = done = true;
    }
    free(req);
    if (exited) {
        /* it closed its stdout without a result: learn how it ended */
        status = stop_proc(&a, pr, NULL);
        char how[96];
        describe_exit(status, how, sizeof how);
        return weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                  "task '%s': its process %s before it"
                                  " answered attempt %d",
                                  t->name, how, ctx->attempt);
    }
    if (silent) {
        /* a process that stopped speaking may be stuck in what it holds: a new one serves the
         * retry */
        int quiet_s = (int)(weft_clock_s() - a.heard_at);
        WEFT_LOG(WEFT_LOG_WARN, ctx->workflow_uid, ctx->activity_uid,
                 "task '%s': attempt %d silent for %d s (heartbeat_s %d): its process (pid %d) is"
                 " replaced",
                 t->name, ctx->attempt, quiet_s, opts->heartbeat_s, (int)pr->pid);
        stop_proc(&a, pr, a.id);
        return weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                  "task '%s': no heartbeat for %d s (heartbeat_s %d)", t->name,
                                  quiet_s, opts->heartbeat_s);
    }
    if (timed_out || stopped) {
        stop_proc(&a, pr, a.id);
        if (stopped) {
            *abandoned = true;
            return weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT, "stopped by %s",
                        canceled ? "cancel" : "shutdown");
        }
        return weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                  "task '%s' timed out after %d s", t->name, timeout_s);
    }
    if (violation) {
        WEFT_LOG(WEFT_LOG_WARN, ctx->workflow_uid, ctx->activity_uid,
                 "%s; its process (pid %d) is replaced", errbuf, (int)pr->pid);
        stop_proc(&a, pr, NULL);
    } else if (oneshot) {
        /* answered: it may finish on its own, briefly */
        close_fd(&pr->in);
        if (reap_within(&a, pr, STOP_STEP_MS, &status))
            pr->pid = 0;
        drain_stderr(&a, pr);
        stop_proc(&a, pr, NULL);
    } else {
        drain_stderr(&a, pr);
    }
    return res;
}

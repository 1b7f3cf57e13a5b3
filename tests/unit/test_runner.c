/* The runner: task processes are fresh execs of this program that hold nothing of their
 * parent but their two pipes, are reused, are stopped past a timeout (the activity's or
 * the runner's default) and turn a crash into a TRANSIENT attempt. This test program is its
 * own task-process binary (main below), with the built-in tasks and test.lock_probe. */
#include "runner.h"
#include "clock.h"
#include "tasks.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Held by a thread of the test while the task process starts; test.lock_probe takes it. A
 * forked task process would inherit it locked by a thread that is not there, and wait. */
static pthread_mutex_t probe_mutex = PTHREAD_MUTEX_INITIALIZER;

static weft_task_result lock_probe(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                   size_t errlen)
{
    pthread_mutex_lock(&probe_mutex);
    pthread_mutex_unlock(&probe_mutex);
    *output = json_object();
    return WEFT_TASK_OK;
}

static weft_task_registry *make_tasks(void)
{
    weft_tasks_global_init();
    weft_task_registry *tasks = weft_task_registry_create();
    weft_tasks_register_builtin(tasks);
    weft_task_register(tasks, "test.lock_probe", lock_probe);
    return tasks;
}

int main(int argc, char **argv)
{
    if (weft_runner_is_task_process(argc, argv)) {
        weft_task_registry *tasks = make_tasks();
        int rc = weft_runner_serve(argc, argv, tasks);
        weft_task_registry_destroy(tasks);
        return rc;
    }
    struct criterion_test_set *tests = criterion_initialize();
    int rc = 0;
    if (criterion_handle_args(argc, argv, true))
        rc = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return rc;
}

static weft_task_registry *tasks;
static weft_runner *runner;
static json_t *input;

/* A runner whose task processes run exe, or this program (/proc/self/exe) when exe is
 * NULL. Criterion runs each test in a worker process of its own, with BXFI_MAP in its
 * environment; a task process that inherited it would take itself for such a worker. */
static void start(int default_timeout_s, const char *exe)
{
    unsetenv("BXFI_MAP");
    tasks = make_tasks();
    weft_runner_config cfg = {.exe = exe, .default_timeout_s = default_timeout_s};
    runner = weft_runner_create(tasks, &cfg);
}

static void finish(void)
{
    weft_runner_destroy(runner);
    weft_task_registry_destroy(tasks);
    json_decref(input);
    runner = NULL;
    tasks = NULL;
    input = NULL;
}

/* Runs task with the given input (JSON text) and activity timeout; errbuf is the caller's. */
static weft_task_result run(const char *task, const char *input_json, int timeout_s, char *errbuf,
                            size_t errlen)
{
    json_decref(input);
    input = json_loads(input_json, 0, NULL);
    cr_assert(input, "bad test input %s", input_json);
    json_t *empty = json_object();
    weft_task_ctx ctx = {.workflow_uid = "00000000-0000-4000-8000-000000000001",
                         .activity_uid = "00000000-0000-4000-8000-000000000002",
                         .activity_name = "probe",
                         .attempt = 1,
                         .input = input,
                         .params = empty,
                         .upstream = empty};
    weft_runner_opts opts = {.timeout_s = timeout_s, .grace_s = 0};
    json_t *output = NULL;
    bool abandoned = true;
    errbuf[0] = '\0';
    weft_task_result res =
        weft_runner_run(runner, task, &ctx, &opts, &output, errbuf, errlen, &abandoned);
    cr_assert_not(abandoned, "no stop was requested");
    cr_assert_eq(output != NULL, res == WEFT_TASK_OK, "an output exactly on success (%s)", errbuf);
    json_decref(output);
    json_decref(empty);
    return res;
}

/* The target of /proc/PID/<link> (caller's buffer). */
static void proc_link(pid_t pid, const char *link, char *out, size_t len)
{
    char path[64];
    if (pid)
        snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, link);
    else
        snprintf(path, sizeof path, "/proc/self/%s", link);
    ssize_t n = readlink(path, out, len - 1);
    cr_assert(n > 0, "cannot read %s", path);
    out[n] = '\0';
}

TestSuite(runner, .fini = finish, .timeout = 60);

Test(runner, task_process_is_an_exec_of_this_program_holding_only_its_pipes)
{
    /* descriptors a worker holds: a socket and a pipe, both inheritable */
    int sock = socket(AF_INET, SOCK_STREAM, 0), p[2];
    cr_assert(sock >= 0 && pipe(p) == 0);
    start(0, NULL);
    char err[512];
    cr_assert_eq(run("noop", "{}", 0, err, sizeof err), WEFT_TASK_OK, "%s", err);
    pid_t pid = weft_runner_pid(runner);
    cr_assert_gt(pid, 0, "the task process stays for the next task");

    char self[PATH_MAX], child[PATH_MAX];
    proc_link(0, "exe", self, sizeof self);
    proc_link(pid, "exe", child, sizeof child);
    cr_assert_str_eq(child, self, "the task process runs this program");

    char path[64], cmdline[512] = "";
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    size_t n = fread(cmdline, 1, sizeof cmdline - 1, f);
    fclose(f);
    const char *arg1 = memchr(cmdline, '\0', n);
    cr_assert(arg1 && strcmp(arg1 + 1, WEFT_TASK_PROCESS_ARG) == 0,
              "exec'd with the hidden argument, not forked (argv[1] of the child: '%s')",
              arg1 ? arg1 + 1 : "");

    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    cr_assert(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        char target[PATH_MAX], link[32];
        snprintf(link, sizeof link, "fd/%d", fd);
        proc_link(pid, link, target, sizeof target);
        cr_assert_leq(fd, 4, "the task process holds fd %d (%s) of its parent", fd, target);
        if (fd >= 3)
            cr_assert(strncmp(target, "pipe:", 5) == 0, "fd %d is its pipe, not %s", fd, target);
    }
    closedir(d);
    close(sock);
    close(p[0]);
    close(p[1]);
}

struct holder {
    pthread_mutex_t *held;
    int release[2]; /* the thread holds the lock until a byte arrives here */
    int locked[2];  /* and says on this one that it holds it */
};

static void *hold_lock(void *arg)
{
    struct holder *h = arg;
    char c = 1;
    pthread_mutex_lock(h->held);
    cr_assert_eq(write(h->locked[1], &c, 1), 1);
    cr_assert_eq(read(h->release[0], &c, 1), 1);
    pthread_mutex_unlock(h->held);
    return NULL;
}

Test(runner, task_process_starts_with_no_lock_another_thread_held)
{
    struct holder h = {.held = &probe_mutex};
    cr_assert(pipe(h.release) == 0 && pipe(h.locked) == 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, hold_lock, &h), 0);
    char c;
    cr_assert_eq(read(h.locked[0], &c, 1), 1);
    /* another thread holds probe_mutex while the task process starts, as a worker thread
     * may hold the log mutex or a library's lock while its neighbour starts one */
    start(0, NULL);
    char err[512];
    weft_task_result res = run("test.lock_probe", "{}", 5, err, sizeof err);
    cr_assert_eq(write(h.release[1], &c, 1), 1);
    pthread_join(t, NULL);
    cr_assert_eq(res, WEFT_TASK_OK, "the handler took the lock at once, not: %s", err);
    for (int i = 0; i < 2; i++) {
        close(h.release[i]);
        close(h.locked[i]);
    }
}

Test(runner, task_process_is_reused_from_task_to_task)
{
    start(0, NULL);
    char err[512];
    cr_assert_eq(run("noop", "{}", 0, err, sizeof err), WEFT_TASK_OK, "%s", err);
    pid_t first = weft_runner_pid(runner);
    cr_assert_eq(run("sleep", "{\"ms\":1}", 0, err, sizeof err), WEFT_TASK_OK, "%s", err);
    cr_assert_eq(weft_runner_pid(runner), first);
}

Test(runner, attempt_without_timeout_is_stopped_at_the_runners_default)
{
    start(1, NULL);
    char err[512];
    double t0 = weft_clock_s();
    cr_assert_eq(run("sleep", "{\"ms\":20000}", 0, err, sizeof err), WEFT_TASK_TRANSIENT);
    cr_assert_lt(weft_clock_s() - t0, 5, "cut at the 1 s default, not after the 20 s sleep");
    cr_assert(strstr(err, "timed out after 1 s (the default limit"), "%s", err);
    cr_assert_eq(weft_runner_pid(runner), 0, "the hung process is gone");
    cr_assert_eq(run("noop", "{}", 0, err, sizeof err), WEFT_TASK_OK, "a new one serves: %s", err);
}

Test(runner, activity_timeout_wins_over_the_default)
{
    start(1, NULL);
    char err[512];
    cr_assert_eq(run("sleep", "{\"ms\":1500}", 3, err, sizeof err), WEFT_TASK_OK, "%s", err);
    cr_assert_eq(run("sleep", "{\"ms\":20000}", 2, err, sizeof err), WEFT_TASK_TRANSIENT);
    cr_assert(strstr(err, "timed out after 2 s"), "%s", err);
    cr_assert_null(strstr(err, "default"), "%s", err);
}

Test(runner, crash_is_transient_and_names_the_signal)
{
    start(0, NULL);
    char err[512];
    cr_assert_eq(run("fail", "{\"code\":\"CRASH\"}", 0, err, sizeof err), WEFT_TASK_TRANSIENT);
    cr_assert(strstr(err, "task process crashed (signal 6"), "%s", err);
    cr_assert_eq(run("noop", "{}", 0, err, sizeof err), WEFT_TASK_OK, "%s", err);
}

Test(runner, task_process_ignores_sigterm_its_worker_decides)
{
    start(0, NULL);
    char err[512];
    cr_assert_eq(run("noop", "{}", 0, err, sizeof err), WEFT_TASK_OK, "%s", err);
    pid_t pid = weft_runner_pid(runner);
    /* as a service manager signals every process of the service at once */
    cr_assert_eq(kill(pid, SIGTERM), 0);
    cr_assert_eq(kill(pid, SIGINT), 0);
    cr_assert_eq(run("sleep", "{\"ms\":200}", 0, err, sizeof err), WEFT_TASK_OK, "%s", err);
    cr_assert_eq(weft_runner_pid(runner), pid);
}

Test(runner, program_that_serves_no_tasks_fails_the_attempt_with_its_exit_status)
{
    /* weft-handoff rejects the hidden argument as an unknown option (exit 2) */
    cr_assert(getenv("WEFT_BIN_WEFT_HANDOFF"), "run through meson test");
    start(0, getenv("WEFT_BIN_WEFT_HANDOFF"));
    char err[512];
    cr_assert_eq(run("noop", "{}", 0, err, sizeof err), WEFT_TASK_TRANSIENT);
    cr_assert_str_eq(err, "task process exited with status 2");
}

Test(runner, missing_program_fails_the_attempt_without_a_process)
{
    start(0, "no-such-weft-binary");
    char err[512];
    cr_assert_eq(run("noop", "{}", 0, err, sizeof err), WEFT_TASK_TRANSIENT);
    cr_assert(strstr(err, "cannot start a task process: No such file"), "%s", err);
    cr_assert_eq(weft_runner_pid(runner), 0);
}

Test(runner, unregistered_task_is_permanent_without_a_process)
{
    start(0, NULL);
    char err[512];
    cr_assert_eq(run("no.such.task", "{}", 0, err, sizeof err), WEFT_TASK_PERMANENT);
    cr_assert(strstr(err, "not registered"), "%s", err);
    cr_assert_eq(weft_runner_pid(runner), 0);
}

static bool cancel_now;
static int idles_before_cancel;
static void cancel_soon(void *arg, int ms)
{
    (void)arg;
    (void)ms;
    if (--idles_before_cancel <= 0)
        cancel_now = true;
}

Test(runner, a_cancel_kills_a_built_in_task_at_once_and_abandons_the_attempt)
{
    start(0, NULL);
    json_t *empty = json_object();
    input = json_loads("{\"ms\":20000}", 0, NULL);
    weft_task_ctx ctx = {.workflow_uid = "00000000-0000-4000-8000-000000000001",
                         .activity_uid = "00000000-0000-4000-8000-000000000002",
                         .activity_name = "nap",
                         .attempt = 1,
                         .input = input,
                         .params = empty,
                         .upstream = empty};
    cancel_now = false;
    idles_before_cancel = 3;
    weft_runner_opts opts = {.grace_s = 30, .idle = cancel_soon, .cancel = &cancel_now};
    json_t *output = NULL;
    bool abandoned = false;
    char err[512] = "";
    double t0 = weft_clock_s();
    weft_runner_run(runner, "sleep", &ctx, &opts, &output, err, sizeof err, &abandoned);
    cr_assert(abandoned, "%s", err);
    cr_assert_str_eq(err, "stopped by cancel");
    cr_assert_lt(weft_clock_s() - t0, 5, "not after the 20 s sleep nor the 30 s grace");
    cr_assert_null(output);
    cr_assert_eq(weft_runner_pid(runner), 0, "the task process is gone");
    json_decref(empty);
    cr_assert_eq(run("noop", "{}", 0, err, sizeof err), WEFT_TASK_OK, "a new one serves: %s", err);
}

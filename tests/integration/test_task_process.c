/* weft-activity starts each worker thread's task process by exec, not by a fork of itself:
 * the task process is the worker's own program run afresh with the hidden argument, so it
 * holds no lock another worker thread held, and it holds none of the worker's broker,
 * database or Redis sockets. */
#include "harness.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static harness_procs procs;
static void up(void)
{
    harness_start(&procs, 2);
}
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(task_process, .init = up, .fini = down, .timeout = 120);

/* The target of /proc/PID/LINK (caller's buffer); false when it cannot be read. */
static bool proc_link(pid_t pid, const char *link, char *out, size_t len)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, link);
    ssize_t n = readlink(path, out, len - 1);
    if (n <= 0)
        return false;
    out[n] = '\0';
    return true;
}

/* The children of every thread of pid, into pids (up to max); returns how many. */
static int children(pid_t pid, pid_t *pids, int max)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    cr_assert(d, "cannot list %s", path);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%d/task/%s/children", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        int child;
        while (f && n < max && fscanf(f, "%d", &child) == 1)
            pids[n++] = child;
        if (f)
            fclose(f);
    }
    closedir(d);
    return n;
}

#define MAX_FDS 256

/* pid's descriptors from `from` up: their numbers and what they refer to ("socket:[123]",
 * a path), into fds and targets (up to MAX_FDS); returns how many. */
static int descriptors(pid_t pid, int from, int fds[MAX_FDS], char targets[MAX_FDS][PATH_MAX])
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    cr_assert(d, "cannot list %s", path);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAX_FDS) {
        char link[300];
        snprintf(link, sizeof link, "fd/%s", e->d_name);
        if (e->d_name[0] != '.' && atoi(e->d_name) >= from &&
            proc_link(pid, link, targets[n], PATH_MAX))
            fds[n++] = atoi(e->d_name);
    }
    closedir(d);
    return n;
}

static int sockets(int n, char targets[MAX_FDS][PATH_MAX])
{
    int count = 0;
    for (int i = 0; i < n; i++)
        count += strncmp(targets[i], "socket:", 7) == 0;
    return count;
}

/* Waits (up to 10 s) until pid serves tasks: a task process names itself weft-task once it
 * runs its loop, after the exec and the loading of its libraries (which open descriptors of
 * their own for a moment). A process that never does is left to the checks that follow. */
static void wait_serving(pid_t pid)
{
    char path[PATH_MAX], comm[32] = "";
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(path, "r");
        cr_assert(f, "task process %d is gone", (int)pid);
        bool got = fgets(comm, sizeof comm, f) != NULL;
        fclose(f);
        if (got && strcmp(comm, "weft-task\n") == 0)
            return;
        usleep(20 * 1000);
    }
}

static int worker_fds[MAX_FDS], task_fds[MAX_FDS];
static char worker_targets[MAX_FDS][PATH_MAX], task_targets[MAX_FDS][PATH_MAX];

Test(task_process, task_processes_are_execs_of_the_worker_holding_none_of_its_sockets)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"watched\",\"activities\":["
                   "{\"name\":\"a\",\"task\":\"sleep\",\"params\":{\"ms\":3000}},"
                   "{\"name\":\"b\",\"task\":\"sleep\",\"params\":{\"ms\":3000}}]}",
                   NULL, uid);
    json_decref(harness_wait_activity(uid, "a", "running", 20));
    json_decref(harness_wait_activity(uid, "b", "running", 20));
    int nw = descriptors(procs.activity, 3, worker_fds, worker_targets);
    cr_assert_geq(sockets(nw, worker_targets), 4, "the worker holds its AMQP and Postgres sockets");

    char worker_exe[PATH_MAX];
    cr_assert(proc_link(procs.activity, "exe", worker_exe, sizeof worker_exe));
    pid_t kids[16];
    int n = children(procs.activity, kids, 16);
    cr_assert_eq(n, 2, "one task process per busy worker thread, found %d", n);
    for (int i = 0; i < n; i++) {
        wait_serving(kids[i]);
        char exe[PATH_MAX], path[PATH_MAX], cmdline[512] = "";
        cr_assert(proc_link(kids[i], "exe", exe, sizeof exe));
        cr_assert_str_eq(exe, worker_exe, "the task process runs the worker's program");
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)kids[i]);
        FILE *f = fopen(path, "r");
        cr_assert(f);
        size_t len = fread(cmdline, 1, sizeof cmdline - 1, f);
        fclose(f);
        const char *arg1 = memchr(cmdline, '\0', len);
        cr_assert(arg1 && strcmp(arg1 + 1, "--weft-task-process") == 0,
                  "exec'd with the hidden argument, not a fork of the worker (argv[1]: '%s')",
                  arg1 ? arg1 + 1 : "");
        int nt = descriptors(kids[i], 3, task_fds, task_targets);
        cr_assert_eq(sockets(nt, task_targets), 0, "task process %d holds a socket beyond stdio",
                     (int)kids[i]);
        /* beyond stdio and its two pipes (whose other ends the worker holds), nothing it
         * holds is the worker's */
        for (int t = 0; t < nt; t++)
            for (int w = 0; w < nw && task_fds[t] > 4; w++)
                cr_assert_str_neq(task_targets[t], worker_targets[w],
                                  "task process %d holds the worker's fd %d (%s) as %d",
                                  (int)kids[i], worker_fds[w], worker_targets[w], task_fds[t]);
    }

    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
}

/* heartbeat_s (DESIGN §10): a Python task on the SDK that goes silent fails its attempt
 * TRANSIENT with "no heartbeat for N s", its process is replaced (the retry meets another
 * pid, the first one is gone), and the retry completes; tasks that report progress or
 * heartbeats regularly run well past heartbeat_s and complete in one attempt. The same
 * holds in direct mode (weft run). */
#include "harness.h"

#include "alloc.h"
#include "clock.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/weft-heartbeat-it-XXXXXX";
static char log_path[300];
static harness_procs procs;

/* py.sleepy: attempt 1 notes its pid in params.pid_file and sleeps without a word; later
 * attempts answer at once with their pid. py.chatty and py.beating work 4 s, speaking every
 * half second: progress lines for one, heartbeat lines for the other. */
static const char py_tasks[] = "import os, time\n"
                               "from weft_worker import Worker\n"
                               "worker = Worker()\n"
                               "@worker.task('py.sleepy')\n"
                               "def sleepy(params, ctx):\n"
                               "    if ctx.attempt == 1:\n"
                               "        with open(params['pid_file'], 'w') as f:\n"
                               "            f.write(str(os.getpid()))\n"
                               "        time.sleep(30)\n"
                               "    return {'pid': os.getpid()}\n"
                               "@worker.task('py.chatty')\n"
                               "def chatty(params, ctx):\n"
                               "    for i in range(8):\n"
                               "        ctx.send_progress(i * 12.5, 'step %d' % i)\n"
                               "        time.sleep(0.5)\n"
                               "    return {'steps': 8}\n"
                               "@worker.task('py.beating')\n"
                               "def beating(params, ctx):\n"
                               "    for i in range(8):\n"
                               "        ctx.heartbeat()\n"
                               "        time.sleep(0.5)\n"
                               "    return {'beats': 8}\n"
                               "worker.run()\n";

static void setup(void)
{
    cr_assert(mkdtemp(dir));
    harness_write_file(dir, "py_tasks.py", py_tasks);
    const char *python = getenv("WEFT_TEST_PYTHON"), *sdk = getenv("WEFT_SDK_PYTHON_DIR");
    cr_assert(python && sdk, "WEFT_TEST_PYTHON and WEFT_SDK_PYTHON_DIR come from meson");
    char *task = weft_xasprintf("{\"exec\": [\"%s\", \"py_tasks.py\"],"
                                " \"env\": {\"PYTHONPATH\": \"%s\"}}",
                                python, sdk);
    char *tasks =
        weft_xasprintf("{\"tasks\": {\"py.sleepy\": %s, \"py.chatty\": %s, \"py.beating\": %s}}",
                       task, task, task);
    harness_write_file(dir, "tasks.json", tasks);
    free(tasks);
    free(task);
    char path[300];
    snprintf(path, sizeof path, "%s/tasks.json", dir);
    setenv("WEFT_TASKS_FILE", path, 1);
    snprintf(log_path, sizeof log_path, "%s/activity.log", dir);
    /* one slot: the retry runs where attempt 1 ran, so a new pid is a replaced process */
    harness_start_logged(&procs, 1, log_path);
}

static void teardown(void)
{
    harness_stop(&procs);
    char *cmd = weft_xasprintf("cp '%s' '%s.last' 2>/dev/null; rm -rf '%s'", log_path, dir, dir);
    harness_run(cmd, NULL);
    free(cmd);
}

TestSuite(heartbeat, .init = setup, .fini = teardown, .timeout = 120);

/* The pid attempt 1 of py.sleepy wrote to file name in dir. */
static long first_pid(const char *name)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    cr_assert(f, "attempt 1 wrote its pid to %s", path);
    long pid = 0;
    cr_assert_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    cr_assert_gt(pid, 0);
    return pid;
}

/* A definition of one py.sleepy activity with heartbeat_s 2 and one retry (new string). */
static char *sleepy_definition(const char *pid_file)
{
    return weft_xasprintf("{\"name\": \"sleepy\", \"activities\": [{\"name\": \"s\","
                          " \"task\": \"py.sleepy\", \"heartbeat_s\": 2,"
                          " \"retry\": {\"max_retries\": 1, \"initial_delay_ms\": 50},"
                          " \"params\": {\"pid_file\": \"%s/%s\"}}]}",
                          dir, pid_file);
}

Test(heartbeat, a_silent_task_fails_transient_and_its_process_is_replaced)
{
    char uid[WEFT_UUID_LEN + 1];
    char *def = sleepy_definition("first.pid");
    double t0 = weft_clock_s();
    harness_submit(def, NULL, uid);
    free(def);
    harness_expect_completed(uid, "s", 2, 30);
    double took = weft_clock_s() - t0;
    cr_assert_lt(took, 10, "the silence was cut after about 2 s, not the task's 30 (%.1f s)", took);
    json_t *acts = harness_activities(uid);
    json_t *att = json_object_get(harness_activity(acts, "s"), "attempts");
    const json_t *a1 = json_array_get(att, 0);
    cr_assert_str_eq(json_string_value(json_object_get(a1, "status")), "failed");
    cr_assert_str_eq(json_string_value(json_object_get(a1, "error")),
                     "task 'py.sleepy': no heartbeat for 2 s (heartbeat_s 2)");
    json_decref(acts);
    weft_workflow_info w;
    harness_wait(uid, 5, &w);
    long second = (long)json_integer_value(json_object_get(json_object_get(w.output, "s"), "pid"));
    weft_workflow_info_finish(&w);
    long first = first_pid("first.pid");
    cr_assert_gt(second, 0);
    cr_assert_neq(second, first, "attempt 2 ran in a new process (pid %ld, was %ld)", second,
                  first);
    cr_assert(kill((pid_t)first, 0) != 0 && errno == ESRCH, "the silent process %ld is gone",
              first);
    harness_wait_lines(log_path, "silent for 2 s (heartbeat_s 2): its process", 1, 5,
                       "the worker's warning");
}

Test(heartbeat, tasks_that_report_progress_or_heartbeats_run_past_heartbeat_s)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\": \"talkers\", \"activities\": ["
                   "{\"name\": \"c\", \"task\": \"py.chatty\", \"heartbeat_s\": 2},"
                   "{\"name\": \"b\", \"task\": \"py.beating\", \"heartbeat_s\": 2}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(w.output, "c"), "steps")), 8);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(w.output, "b"), "beats")), 8);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    const char *names[] = {"c", "b"};
    for (size_t i = 0; i < 2; i++) {
        json_t *a = harness_activity(acts, names[i]);
        cr_assert_eq(json_array_size(json_object_get(a, "attempts")), 1, "'%s': one attempt",
                     names[i]);
        cr_assert_gt(json_number_value(json_object_get(a, "duration_s")), 3.5,
                     "'%s' ran about 4 s, twice its heartbeat_s", names[i]);
    }
    json_decref(acts);
}

Test(heartbeat, direct_mode_replaces_a_silent_task_too)
{
    char *def = sleepy_definition("direct.pid");
    harness_write_file(dir, "sleepy.json", def);
    free(def);
    char *cmd = weft_xasprintf("env -u WEFT_TASKS_FILE '%s' run '%s/sleepy.json' --tasks "
                               "'%s/tasks.json' 2>'%s/direct.log'",
                               getenv("WEFT_BIN_WEFT"), dir, dir, dir);
    char *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 0, "weft run: %s", out ? out : "");
    free(cmd);
    json_t *doc = json_loads(out, 0, NULL);
    cr_assert(doc, "the output is JSON: %s", out);
    long second = (long)json_integer_value(json_object_get(json_object_get(doc, "s"), "pid"));
    json_decref(doc);
    free(out);
    cr_assert_gt(second, 0);
    cr_assert_neq(second, first_pid("direct.pid"), "the retry met a new process");
    char log[400];
    snprintf(log, sizeof log, "%s/direct.log", dir);
    cr_assert_eq(harness_count_lines(log, "silent for 2 s (heartbeat_s 2): its process"), 1,
                 "weft run says why attempt 1 ended");
}

/* Tasks from any language (DESIGN §9): a Python task on the SDK and a shell oneshot task run
 * in one workflow through the real consumers; a persistent process keeps its pid across
 * attempts; a task's environment holds none of weft's URLs; every way a task program can
 * break the protocol fails its attempt with an error naming the task, recorded in the
 * attempt history, while the worker keeps serving; a bad task file stops the worker at
 * start. */
#include "harness.h"

#include "alloc.h"
#include "clock.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/weft-exec-it-XXXXXX";
static char log_path[300];
static harness_procs procs;

static const char py_tasks[] =
    "import os, sys\n"
    "from weft_worker import Worker, TransientError\n"
    "worker = Worker()\n"
    "@worker.task('py.greet')\n"
    "def greet(params, ctx):\n"
    "    ctx.send_progress(50, 'half way')\n"
    "    print('greeting', params['who'], file=sys.stderr)\n"
    "    return {'greeting': 'hello ' + params['who']}\n"
    "@worker.task('py.flaky')\n"
    "def flaky(params, ctx):\n"
    "    if ctx.attempt == 1:\n"
    "        raise TransientError('pid %d' % os.getpid())\n"
    "    return {'pid': os.getpid()}\n"
    "@worker.task('py.progress')\n"
    "def progress(params, ctx):\n"
    "    import time\n"
    "    for i in range(1, 301):\n"
    "        ctx.send_progress(i / 3, 'step %d of 300' % i)\n"
    "    time.sleep(3)\n"
    "    return {}\n"
    "@worker.task('py.slow')\n"
    "def slow(params, ctx):\n"
    "    import time\n"
    "    end = time.time() + 30\n"
    "    while os.path.exists(params['while_file']) and time.time() < end:\n"
    "        time.sleep(0.1)\n"
    "    return {}\n"
    "@worker.task('py.patient')\n"
    "def patient(params, ctx):\n"
    "    import time\n"
    "    end = time.time() + 30\n"
    "    while not ctx.cancelled and time.time() < end:\n"
    "        time.sleep(0.05)\n"
    "    if ctx.cancelled:\n"
    "        open(params['note'], 'w').write('cancel heard by attempt %d' % ctx.attempt)\n"
    "    return {}\n"
    "@worker.task('py.env')\n"
    "def env(params, ctx):\n"
    "    return {'names': sorted(os.environ)}\n"
    "worker.run()\n";

/* A oneshot shell task: its identity comes in the environment, the request on stdin. */
static const char sh_stamp[] =
    "read -r request\n"
    "printf '{\"id\":\"%s/%s\",\"status\":\"success\",\"data\":{\"stamped\":true}}\\n' "
    "\"$WEFT_ACTIVITY_UID\" \"$WEFT_ATTEMPT\"\n";

static const struct {
    const char *name, *text;
} bad_scripts[] = {
    {"garbage.sh", "read -r r; echo 'this is not JSON'; sleep 30\n"},
    {"toolong.sh", "read -r r; head -c 1100000 /dev/zero | tr '\\0' x; echo; sleep 30\n"},
    {"badutf8.sh", "read -r r; printf '{\"id\":\"\\377\"}\\n'; sleep 30\n"},
    {"otherid.sh", "read -r r; echo '{\"id\":\"other/1\",\"status\":\"success\",\"data\":{}}';"
                   " sleep 30\n"},
    {"noid.sh", "read -r r; echo '{\"status\":\"success\",\"data\":{}}'; sleep 30\n"},
    {"silent.sh", "while read -r r; do :; done\n"},
    {"exits.sh", "exit 7\n"},
};

static void write_file(const char *name, const char *text)
{
    harness_write_file(dir, name, text);
}

static void setup(void)
{
    cr_assert(mkdtemp(dir));
    write_file("py_tasks.py", py_tasks);
    write_file("stamp.sh", sh_stamp);
    for (size_t i = 0; i < sizeof bad_scripts / sizeof bad_scripts[0]; i++)
        write_file(bad_scripts[i].name, bad_scripts[i].text);
    const char *python = getenv("WEFT_TEST_PYTHON"), *sdk = getenv("WEFT_SDK_PYTHON_DIR");
    const char *plugins = getenv("WEFT_TEST_PLUGIN_DIR");
    cr_assert(python && sdk && plugins,
              "WEFT_TEST_PYTHON, WEFT_SDK_PYTHON_DIR and WEFT_TEST_PLUGIN_DIR come from meson");
    char *tasks = weft_xasprintf(
        "{\"queues\": [\"default\"], \"tasks\": {"
        "\"py.greet\": {\"exec\": [\"%s\", \"py_tasks.py\"], \"env\": {\"PYTHONPATH\": \"%s\"}},"
        "\"py.flaky\": {\"exec\": [\"%s\", \"py_tasks.py\"], \"env\": {\"PYTHONPATH\": \"%s\"}},"
        "\"py.env\": {\"exec\": [\"%s\", \"py_tasks.py\"], \"env\": {\"PYTHONPATH\": \"%s\"}},"
        "\"py.progress\": {\"exec\": [\"%s\", \"py_tasks.py\"], \"env\": {\"PYTHONPATH\": \"%s\"}},"
        "\"py.slow\": {\"exec\": [\"%s\", \"py_tasks.py\"], \"env\": {\"PYTHONPATH\": \"%s\"}},"
        "\"py.patient\": {\"exec\": [\"%s\", \"py_tasks.py\"], \"env\": {\"PYTHONPATH\": \"%s\"}},"
        "\"sh.stamp\": {\"exec\": [\"sh\", \"stamp.sh\"], \"mode\": \"oneshot\"},"
        "\"bad.garbage\": {\"exec\": [\"sh\", \"garbage.sh\"]},"
        "\"bad.toolong\": {\"exec\": [\"sh\", \"toolong.sh\"]},"
        "\"bad.badutf8\": {\"exec\": [\"sh\", \"badutf8.sh\"]},"
        "\"bad.otherid\": {\"exec\": [\"sh\", \"otherid.sh\"]},"
        "\"bad.noid\": {\"exec\": [\"sh\", \"noid.sh\"]},"
        "\"bad.silent\": {\"exec\": [\"sh\", \"silent.sh\"], \"timeout_s\": 1},"
        "\"bad.exits\": {\"exec\": [\"sh\", \"exits.sh\"]},"
        "\"checksum\": {\"plugin\": \"%s/libchecksum_plugin.so\"}}}",
        python, sdk, python, sdk, python, sdk, python, sdk, python, sdk, python, sdk, plugins);
    write_file("tasks.json", tasks);
    free(tasks);
    char path[300];
    snprintf(path, sizeof path, "%s/tasks.json", dir);
    /* both read it: entry for the names, the worker for the programs */
    setenv("WEFT_TASKS_FILE", path, 1);
    snprintf(log_path, sizeof log_path, "%s/activity.log", dir);
    const char *args[] = {"--concurrency", "2", NULL};
    procs.entry = harness_spawn("weft-entry", NULL);
    procs.handoff = harness_spawn("weft-handoff", NULL);
    procs.activity = harness_spawn_logged("weft-activity", args, log_path);
    usleep(300 * 1000);
    cr_assert(harness_alive(procs.entry), "weft-entry exited at start");
    cr_assert(harness_alive(procs.activity), "weft-activity exited at start");
}

static void teardown(void)
{
    harness_stop(&procs);
    /* the worker's log outlives the run, for whoever reads a failure */
    char *cmd = weft_xasprintf("cp '%s' '%s.last' 2>/dev/null; rm -rf '%s'", log_path, dir, dir);
    harness_run(cmd, NULL);
    free(cmd);
}

TestSuite(exec_tasks, .init = setup, .fini = teardown, .timeout = 120);

Test(exec_tasks, python_sdk_task_and_shell_oneshot_task_run_in_one_workflow)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"polyglot\",\"activities\":["
                   "{\"name\":\"greet\",\"task\":\"py.greet\",\"params\":{\"who\":\"world\"}},"
                   "{\"name\":\"stamp\",\"task\":\"sh.stamp\",\"depends_on\":[\"greet\"]},"
                   "{\"name\":\"echo\",\"task\":\"noop\",\"depends_on\":[\"greet\"]}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    json_t *echo = json_object_get(w.output, "echo"), *stamp = json_object_get(w.output, "stamp");
    cr_assert_str_eq(json_string_value(json_object_get(echo, "greeting")), "hello world",
                     "the Python task's output flowed downstream");
    cr_assert(json_is_true(json_object_get(stamp, "stamped")), "the shell task answered");
    weft_workflow_info_finish(&w);
    /* its stderr line is in the worker's log, with the workflow it belongs to */
    char *needle = weft_xasprintf("workflow=%s", uid);
    harness_wait_lines(log_path, "stderr: greeting world", 1, 10, "the task's stderr line");
    FILE *f = fopen(log_path, "r");
    char line[4096];
    bool found = false;
    while (f && fgets(line, sizeof line, f))
        found = found || (strstr(line, "stderr: greeting world") && strstr(line, needle));
    if (f)
        fclose(f);
    cr_assert(found, "the stderr line carries workflow=%s", uid);
    free(needle);
}

Test(exec_tasks, persistent_process_keeps_its_pid_across_attempts)
{
    /* one worker slot: the retry must meet the process of the first attempt */
    kill(procs.activity, SIGTERM);
    waitpid(procs.activity, NULL, 0);
    const char *args[] = {"--concurrency", "1", NULL};
    procs.activity = harness_spawn_logged("weft-activity", args, log_path);
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"flaky\",\"activities\":["
                   "{\"name\":\"f\",\"task\":\"py.flaky\","
                   "\"retry\":{\"max_retries\":3,\"initial_delay_ms\":50}}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    json_int_t pid = json_integer_value(json_object_get(json_object_get(w.output, "f"), "pid"));
    cr_assert_gt(pid, 0);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    json_t *att = json_object_get(harness_activity(acts, "f"), "attempts");
    cr_assert_eq(json_array_size(att), 2);
    const char *first = json_string_value(json_object_get(json_array_get(att, 0), "error"));
    char expect[64];
    snprintf(expect, sizeof expect, "py.flaky: pid %lld", (long long)pid);
    cr_assert_str_eq(first ? first : "", expect, "attempt 2 ran in the process of attempt 1");
    json_decref(acts);
}

Test(exec_tasks, task_environment_holds_no_weft_url_or_secret)
{
    cr_assert(getenv("WEFT_DATABASE_URL") && getenv("WEFT_AMQP_URL"),
              "the worker has its URLs in its environment");
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"env\",\"activities\":[{\"name\":\"e\",\"task\":\"py.env\"}]}", NULL,
                   uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    json_t *names = json_object_get(json_object_get(w.output, "e"), "names");
    cr_assert(json_array_size(names) > 0);
    bool path = false, pythonpath = false;
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        const char *s = json_string_value(n);
        cr_assert_null(strstr(s, "_URL"), "a URL variable reached the task: %s", s);
        cr_assert_neq(strncmp(s, "WEFT_", 5), 0, "a weft variable reached the task: %s", s);
        path = path || strcmp(s, "PATH") == 0;
        pythonpath = pythonpath || strcmp(s, "PYTHONPATH") == 0;
    }
    cr_assert(path && pythonpath, "PATH and the task file's env are there");
    weft_workflow_info_finish(&w);
}

Test(exec_tasks, broken_task_programs_fail_their_attempts_and_the_worker_keeps_serving)
{
    static const harness_failure cases[] = {
        {"bad.garbage", "task 'bad.garbage' wrote a line that is not a JSON object", 2},
        {"bad.toolong", "task 'bad.toolong' wrote a line of more than 1048576 bytes", 1},
        {"bad.badutf8", "task 'bad.badutf8' wrote a line that is not valid UTF-8", 2},
        {"bad.otherid", "task 'bad.otherid' answered for \"other/1\"", 2},
        {"bad.noid", "task 'bad.noid' wrote a line without a string \"id\"", 2},
        {"bad.silent", "task 'bad.silent' timed out after 1 s", 2},
        {"bad.exits", "task 'bad.exits': its process exited with status 7 before it answered", 2},
    };
    /* retried once: a TRANSIENT failure makes 2 attempts */
    harness_expect_failures(cases, sizeof cases / sizeof cases[0], "", 1);
    cr_assert(harness_alive(procs.activity), "the worker survived them all");
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"after\",\"activities\":["
                   "{\"name\":\"g\",\"task\":\"py.greet\",\"params\":{\"who\":\"again\"}}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
}

Test(exec_tasks, invalid_task_file_stops_the_worker_at_start_with_one_line)
{
    write_file("broken.json", "{\"tasks\": {\"resize\": {\"exec\": [\"./missing.py\"]}}}");
    char path[300], broken_log[300];
    snprintf(path, sizeof path, "%s/broken.json", dir);
    snprintf(broken_log, sizeof broken_log, "%s/broken.log", dir);
    const char *args[] = {"--tasks", path, NULL};
    pid_t pid = harness_spawn_logged("weft-activity", args, broken_log);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "exit status 2");
    cr_assert_eq(harness_count_lines(broken_log, ""), 1, "one line");
    cr_assert_eq(harness_count_lines(broken_log, "task 'resize': exec: program"), 1,
                 "it names the task and the field");
}

/* The example plugin's task after a Python task: the known CRC-32 of the sentence. */
static const char plugin_flow[] =
    "{\"name\":\"plugged\",\"activities\":["
    "{\"name\":\"greet\",\"task\":\"py.greet\",\"params\":{\"who\":\"world\"}},"
    "{\"name\":\"sum\",\"task\":\"checksum\",\"depends_on\":[\"greet\"],"
    "\"params\":{\"content\":\"The quick brown fox jumps over the lazy dog\"}}]}";

Test(exec_tasks, a_c_plugin_task_runs_through_the_consumers_and_in_direct_mode)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(plugin_flow, NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    json_t *sum = json_object_get(w.output, "sum");
    cr_expect_str_eq(json_string_value(json_object_get(sum, "crc32")), "414fa339");
    cr_expect_eq(json_integer_value(json_object_get(sum, "bytes")), 43);
    weft_workflow_info_finish(&w);

    write_file("plugged.json", plugin_flow);
    char *cmd = weft_xasprintf("env -u WEFT_TASKS_FILE '%s' run '%s/plugged.json' --tasks "
                               "'%s/tasks.json' 2>/dev/null",
                               getenv("WEFT_BIN_WEFT"), dir, dir);
    char *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 0, "weft run: %s", out ? out : "");
    json_t *doc = json_loads(out, 0, NULL);
    cr_assert(doc, "the output is JSON: %s", out);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(doc, "sum"), "crc32")),
                     "414fa339", "%s", out);
    json_decref(doc);
    free(out);
    free(cmd);
}

/* Starts weft-activity on a task file naming plugin path as task `checksum`; asserts it
 * exits 2 with one line holding want. */
static void expect_plugin_refused(const char *path, const char *want)
{
    char *tasks = weft_xasprintf("{\"tasks\": {\"checksum\": {\"plugin\": \"%s\"}}}", path);
    write_file("plugin.json", tasks);
    free(tasks);
    char file[300], log[300];
    snprintf(file, sizeof file, "%s/plugin.json", dir);
    snprintf(log, sizeof log, "%s/plugin-%d.log", dir, (int)weft_clock_ms() % 100000);
    const char *args[] = {"--tasks", file, NULL};
    pid_t pid = harness_spawn_logged("weft-activity", args, log);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2, "exit status 2 for %s", path);
    cr_expect_eq(harness_count_lines(log, ""), 1, "one line for %s", path);
    cr_expect_eq(harness_count_lines(log, want), 1, "'%s' for %s", want, path);
}

Test(exec_tasks, a_plugin_that_cannot_load_stops_the_worker_at_start)
{
    char path[400];
    write_file("notelf.so", "this is not a shared object\n");
    snprintf(path, sizeof path, "%s/notelf.so", dir);
    expect_plugin_refused(path, "cannot be loaded: ");
    snprintf(path, sizeof path, "%s/librefusing_plugin.so", getenv("WEFT_TEST_PLUGIN_DIR"));
    expect_plugin_refused(path, "refused to load");
    snprintf(path, sizeof path, "%s/nothing-here.so", dir);
    expect_plugin_refused(path, "cannot be read");
}

Test(exec_tasks, direct_mode_runs_exec_tasks_from_the_tasks_flag)
{
    write_file("polyglot.json",
               "{\"name\":\"polyglot\",\"activities\":["
               "{\"name\":\"greet\",\"task\":\"py.greet\",\"params\":{\"who\":\"direct\"}},"
               "{\"name\":\"stamp\",\"task\":\"sh.stamp\",\"depends_on\":[\"greet\"]}]}");
    char *cmd = weft_xasprintf("env -u WEFT_TASKS_FILE '%s' run '%s/polyglot.json' --tasks "
                               "'%s/tasks.json' 2>/dev/null",
                               getenv("WEFT_BIN_WEFT"), dir, dir);
    char *out = NULL;
    int rc = harness_run(cmd, &out);
    cr_assert_eq(rc, 0, "weft run exit status (output: %s)", out ? out : "");
    json_error_t je;
    json_t *doc = json_loads(out, 0, &je);
    cr_assert(doc, "the output is JSON: %s", out);
    cr_assert(json_is_true(json_object_get(json_object_get(doc, "stamp"), "stamped")), "%s", out);
    json_decref(doc);
    free(out);
    free(cmd);
    /* without the task file the same definition names unknown tasks */
    cmd = weft_xasprintf("env -u WEFT_TASKS_FILE '%s' run '%s/polyglot.json' 2>&1",
                         getenv("WEFT_BIN_WEFT"), dir);
    rc = harness_run(cmd, &out);
    cr_assert_eq(rc, 3, "%s", out);
    cr_assert(strstr(out, "activity 'greet': unknown task 'py.greet' (known: fail, file.load,"),
              "%s", out);
    free(out);
    free(cmd);
}

Test(exec_tasks, the_last_progress_of_a_running_attempt_is_stored_and_shown)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"progress\",\"activities\":["
                   "{\"name\":\"q\",\"task\":\"noop\"},"
                   "{\"name\":\"p\",\"task\":\"py.progress\",\"depends_on\":[\"q\"]}]}",
                   NULL, uid);
    /* 300 reports in a burst, then 3 s of quiet: the last one is stored within the
     * throttle's half second, though most were never written */
    double end = weft_clock_s() + 10;
    json_t *acts = NULL;
    for (;;) {
        acts = harness_activities(uid);
        json_t *a = harness_activity(acts, "p");
        if (json_is_number(json_object_get(a, "progress")) &&
            json_number_value(json_object_get(a, "progress")) > 99.9)
            break;
        cr_assert_lt(weft_clock_s(), end, "the last progress is stored while the task runs");
        json_decref(acts);
        usleep(100 * 1000);
    }
    json_t *a = harness_activity(acts, "p");
    cr_assert_str_eq(json_string_value(json_object_get(a, "progress_message")), "step 300 of 300");
    cr_assert_str_eq(json_string_value(json_object_get(a, "status")), "running");
    json_decref(acts);
    char *cmd = weft_xasprintf("'%s' status %s", getenv("WEFT_BIN_WEFT"), uid);
    char *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 0);
    /* the PROGRESS column, the message where an error would be, the workflow's X/N with
     * its stage (q, a noop that p depends on, has ended) */
    cr_assert(strstr(out, "100%  step 300 of 300"), "weft status shows it: %s", out);
    cr_assert(strstr(out, "progress: 1/2 (stage: p)"), "weft status shows X/N and stage: %s",
              out);
    free(out);
    free(cmd);
    cmd = weft_xasprintf("'%s' status --json %s", getenv("WEFT_BIN_WEFT"), uid);
    cr_assert_eq(harness_run(cmd, &out), 0);
    json_t *doc = json_loads(out, 0, NULL);
    cr_assert(doc, "status --json is JSON: %s", out);
    json_t *wp = json_object_get(doc, "progress");
    cr_assert_eq(json_integer_value(json_object_get(wp, "done")), 1, "%s", out);
    cr_assert_eq(json_integer_value(json_object_get(wp, "total")), 2, "%s", out);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(wp, "stage"), 0)), "p");
    json_decref(doc);
    free(out);
    free(cmd);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    acts = harness_activities(uid);
    cr_assert(json_is_null(json_object_get(harness_activity(acts, "p"), "progress")),
              "a finished attempt shows no progress");
    json_decref(acts);
}

Test(exec_tasks, sigterm_past_the_grace_stops_the_task_process_and_hands_the_attempt_back)
{
    kill(procs.activity, SIGTERM);
    waitpid(procs.activity, NULL, 0);
    const char *args[] = {"--concurrency", "1", "--grace", "1", NULL};
    procs.activity = harness_spawn_logged("weft-activity", args, log_path);
    /* the task runs while this file exists */
    write_file("hold", "");
    char uid[WEFT_UUID_LEN + 1];
    char *def = weft_xasprintf("{\"name\":\"slow\",\"activities\":[{\"name\":\"s\","
                               "\"task\":\"py.slow\",\"params\":{\"while_file\":\"%s/hold\"}}]}",
                               dir);
    harness_submit(def, NULL, uid);
    free(def);
    json_decref(harness_wait_activity(uid, "s", "running", 10));
    usleep(500 * 1000);
    kill(procs.activity, SIGTERM);
    double t0 = weft_clock_s();
    int status;
    cr_assert_eq(waitpid(procs.activity, &status, 0), procs.activity);
    /* the grace (1 s), the cancel line's second, then SIGTERM ends the Python process */
    cr_assert_lt(weft_clock_s() - t0, 5, "the worker stopped soon after its grace");
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    harness_wait_lines(log_path, "unfinished at shutdown: handed back", 1, 5, "the hand-back");
    char *pids = NULL;
    /* [.]: the pattern does not match the shell that runs pgrep */
    char *cmd = weft_xstrdup("pgrep -f 'py_tasks[.]py' || true");
    harness_run(cmd, &pids);
    cr_assert_str_eq(pids, "", "no task process outlived its worker: %s", pids);
    free(pids);
    free(cmd);
    /* run it again, quickly this time: the handed-back attempt was no failure */
    char *hold = weft_xasprintf("%s/hold", dir);
    unlink(hold);
    free(hold);
    const char *args2[] = {"--concurrency", "1", NULL};
    procs.activity = harness_spawn_logged("weft-activity", args2, log_path);
    /* one attempt: the cut attempt was no failure */
    harness_expect_completed(uid, "s", 1, 60);
}

Test(exec_tasks, a_cancel_reaches_the_running_handler_as_its_cancel_line_and_stops_it)
{
    char def[512], note[320];
    snprintf(note, sizeof note, "%s/cancel-note", dir);
    snprintf(def, sizeof def,
             "{\"name\":\"cancel_exec\",\"activities\":["
             "{\"name\":\"wait\",\"task\":\"py.patient\",\"params\":{\"note\":\"%s\"}},"
             "{\"name\":\"next\",\"task\":\"noop\",\"depends_on\":[\"wait\"]}]}",
             note);
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(def, NULL, uid);
    json_decref(harness_wait_activity(uid, "wait", "running", 20));
    double t0 = weft_clock_s();
    char *cmd = weft_xasprintf("'%s' cancel %s --reason 'user pressed stop' --wait --timeout 20",
                               getenv("WEFT_BIN_WEFT"), uid);
    char *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 1, "weft cancel --wait exits like wait: %s", out);
    free(out);
    free(cmd);
    weft_workflow_info w;
    harness_wait(uid, 10, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_CANCELED);
    cr_assert_str_eq(w.error, "canceled: user pressed stop");
    weft_workflow_info_finish(&w);
    /* the handler saw ctx.cancelled: the cancel line reached it */
    harness_wait_lines(note, "cancel heard by attempt 1", 1, 15, "the handler's note");
    double took = weft_clock_s() - t0;
    cr_assert_lt(took, 5, "stopped within seconds (%.1f s): heard at once, not at the lease renewal (every 10 s) nor the task's 30 s", took);
    json_t *acts = harness_wait_activity(uid, "wait", "canceled", 10);
    cr_assert_str_eq(json_string_value(json_object_get(harness_activity(acts, "next"), "status")),
                     "canceled");
    cr_assert_eq(json_array_size(json_object_get(harness_activity(acts, "next"), "attempts")), 0,
                 "the dependent never ran");
    json_decref(acts);
    harness_wait_lines(log_path, "attempt 1 stopped: its workflow was canceled", 1, 10,
                       "the worker's log");
}

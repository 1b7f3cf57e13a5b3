/* Exec tasks: the JSON Lines protocol with programs of the user's (here small shell
 * scripts). A persistent process serves attempt after attempt; every way a program can get
 * the protocol wrong ends that attempt with an error naming the task, and the process is
 * replaced; a process silent past heartbeat_s is replaced, one that keeps sending heartbeat
 * or progress lines runs on; the environment holds nothing of weft's. */
#include "clock.h"
#include "exec_task.h"
#include "stop.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/weft-exec-XXXXXX";
static weft_taskfile *tf;
static weft_exec_pool *pool;
static json_t *input, *params, *upstream;
/* The heartbeat_s of the attempts run_task runs (0: not watched). */
static int heartbeat_s;

/* The request's id is its first member: {"id":"ACT/N",...} */
#define READ_ID "id=$(printf '%s\\n' \"$line\" | sed 's/^{\"id\":\"\\([^\"]*\\)\".*/\\1/')\n"

static const struct {
    const char *name, *text;
} scripts[] = {
    {"echo_pid.sh", "while read -r line; do\n" READ_ID
                    "  echo \"{\\\"id\\\":\\\"$id\\\",\\\"status\\\":\\\"success\\\","
                    "\\\"data\\\":{\\\"pid\\\":$$}}\"\ndone\n"},
    {"progress.sh",
     "while read -r line; do\n" READ_ID
     "  echo \"{\\\"id\\\":\\\"$id\\\",\\\"progress\\\":50,\\\"message\\\":\\\"half\\\"}\"\n"
     "  echo '' \n"
     "  echo \"{\\\"id\\\":\\\"$id\\\",\\\"status\\\":\\\"failure\\\",\\\"error\\\":"
     "{\\\"code\\\":\\\"PERMANENT_ERROR\\\",\\\"message\\\":\\\"no such user\\\"}}\"\n"
     "done\n"},
    {"garbage.sh", "read -r line; echo 'hello, I am not JSON'; sleep 30\n"},
    {"toolong.sh", "read -r line; head -c 3000 /dev/zero | tr '\\0' x; echo; sleep 30\n"},
    {"badutf8.sh", "read -r line; printf '{\"id\":\"\\377\"}\\n'; sleep 30\n"},
    {"otherid.sh", "read -r line; echo '{\"id\":\"someone-else/9\",\"status\":\"success\"}'; "
                   "sleep 30\n"},
    {"noid.sh", "read -r line; echo '{\"status\":\"success\",\"data\":{}}'; sleep 30\n"},
    {"silent.sh", "while read -r line; do echo \"$line\" >> seen.txt; done\n"},
    {"exits.sh", "exit 3\n"},
    {"crash.sh", "read -r line; kill -9 $$\n"},
    {"notobject.sh",
     "while read -r line; do\n" READ_ID
     "  echo \"{\\\"id\\\":\\\"$id\\\",\\\"status\\\":\\\"success\\\",\\\"data\\\":[1]}\"\n"
     "done\n"},
    {"env.sh",
     "read -r line\n"
     "names=$(env | cut -d= -f1 | sort | tr '\\n' ' ')\n"
     "echo \"{\\\"id\\\":\\\"$WEFT_ACTIVITY_UID/$WEFT_ATTEMPT\\\",\\\"status\\\":"
     "\\\"success\\\",\\\"data\\\":{\\\"names\\\":\\\"$names\\\",\\\"dir\\\":\\\"$(pwd)\\\"}}\"\n"},
    {"longmsg.sh", "read -r line\n" READ_ID "m=x$(printf '\xc3\xa9%.0s' $(seq 1 400))\n"
                   "echo \"{\\\"id\\\":\\\"$id\\\",\\\"status\\\":\\\"failure\\\",\\\"error\\\":"
                   "{\\\"code\\\":\\\"TRANSIENT_ERROR\\\",\\\"message\\\":\\\"$m\\\"}}\"\n"
                   "sleep 30\n"},
    {"stderr.sh", "read -r line; echo 'some diagnostics' >&2; exit 0\n"},
    /* 1.5 s of work with a sign of life every 0.3 s, then the answer */
    {"beats.sh",
     "while read -r line; do\n" READ_ID "  for i in 1 2 3 4 5; do\n"
     "    echo \"{\\\"id\\\":\\\"$id\\\",\\\"$1\\\":$2}\"; sleep 0.3\n"
     "  done\n"
     "  echo \"{\\\"id\\\":\\\"$id\\\",\\\"status\\\":\\\"success\\\",\\\"data\\\":{}}\"\n"
     "done\n"},
};

static void setup(void)
{
    cr_assert(mkdtemp(dir));
    for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, scripts[i].name);
        FILE *f = fopen(path, "w");
        cr_assert(f);
        fputs(scripts[i].text, f);
        fclose(f);
    }
    char path[256];
    snprintf(path, sizeof path, "%s/tasks.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"tasks\": {"
          "\"t.echo\": {\"exec\": [\"sh\", \"echo_pid.sh\"]},"
          "\"t.echo2\": {\"exec\": [\"sh\", \"echo_pid.sh\"]},"
          "\"t.progress\": {\"exec\": [\"sh\", \"progress.sh\"]},"
          "\"t.garbage\": {\"exec\": [\"sh\", \"garbage.sh\"]},"
          "\"t.toolong\": {\"exec\": [\"sh\", \"toolong.sh\"]},"
          "\"t.badutf8\": {\"exec\": [\"sh\", \"badutf8.sh\"]},"
          "\"t.otherid\": {\"exec\": [\"sh\", \"otherid.sh\"]},"
          "\"t.noid\": {\"exec\": [\"sh\", \"noid.sh\"]},"
          "\"t.silent\": {\"exec\": [\"sh\", \"silent.sh\"], \"timeout_s\": 1},"
          "\"t.exits\": {\"exec\": [\"sh\", \"exits.sh\"]},"
          "\"t.crash\": {\"exec\": [\"sh\", \"crash.sh\"]},"
          "\"t.longmsg\": {\"exec\": [\"sh\", \"longmsg.sh\"]},"
          "\"t.notobject\": {\"exec\": [\"sh\", \"notobject.sh\"]},"
          "\"t.env\": {\"exec\": [\"sh\", \"env.sh\"], \"mode\": \"oneshot\","
          "            \"env\": {\"MODEL\": \"small\"}},"
          "\"t.stderr\": {\"exec\": [\"sh\", \"stderr.sh\"], \"mode\": \"oneshot\"},"
          "\"t.beats\": {\"exec\": [\"sh\", \"beats.sh\", \"heartbeat\", \"true\"]},"
          "\"t.progresses\": {\"exec\": [\"sh\", \"beats.sh\", \"progress\", \"10\"]},"
          "\"t.badbeat\": {\"exec\": [\"sh\", \"beats.sh\", \"heartbeat\", \"1\"]}}}",
          f);
    fclose(f);
    weft_err err = {0};
    cr_assert_eq(weft_taskfile_load(path, true, &tf, &err), WEFT_OK, "%s", err.msg);
    pool = weft_exec_pool_create(tf, 1024);
    input = json_pack("{s:i}", "x", 1);
    params = json_object();
    upstream = json_object();
    weft_stop_requested = 0;
    heartbeat_s = 0;
}

static void teardown(void)
{
    weft_exec_pool_destroy(pool);
    weft_taskfile_destroy(tf);
    json_decref(input);
    json_decref(params);
    json_decref(upstream);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(exec_task, .init = setup, .fini = teardown, .timeout = 60);

typedef struct {
    weft_task_result res;
    json_t *output;
    char err[512];
    bool abandoned;
} outcome;

static int idle_calls;
static void count_idle(void *arg, int ms)
{
    (void)arg;
    (void)ms;
    idle_calls++;
}

static double last_progress = -1;
static char last_message[64];
static void record_progress(void *arg, double progress, const char *message)
{
    (void)arg;
    last_progress = progress;
    snprintf(last_message, sizeof last_message, "%s", message ? message : "(none)");
}

/* Set by cancel_after_idles once idle ran that many times (0: never). */
static int cancel_at_idle;
static bool cancel_flag;
static void cancel_after_idles(void *arg, int ms)
{
    count_idle(arg, ms);
    if (cancel_at_idle > 0 && idle_calls >= cancel_at_idle)
        cancel_flag = true;
}

static outcome run_task(const char *task, int attempt, int timeout_s, int grace_s)
{
    const weft_taskfile_task *t = weft_taskfile_find(tf, task);
    cr_assert(t, "%s", task);
    weft_task_ctx ctx = {"wf-1", "act-1", "step", attempt, input, params, upstream, NULL};
    cancel_flag = false;
    weft_runner_opts opts = {
        0, grace_s, cancel_after_idles, NULL, record_progress, &cancel_flag, heartbeat_s};
    outcome o = {0};
    o.res = weft_exec_run(pool, t, &ctx, timeout_s, &opts, &o.output, o.err, sizeof o.err,
                          &o.abandoned);
    return o;
}

static void expect_failure(const char *task, weft_task_result res, const char *needle)
{
    outcome o = run_task(task, 1, 5, 30);
    cr_assert_eq(o.res, res, "%s: %d: %s", task, o.res, o.err);
    cr_assert(strstr(o.err, needle), "%s: '%s' lacks '%s'", task, o.err, needle);
    cr_assert(strstr(o.err, task), "the error names the task: %s", o.err);
    cr_assert_null(o.output);
    cr_assert_eq(weft_exec_pid(pool, task), 0, "%s: the process was replaced", task);
}

/* What silent.sh recorded (seen.txt, in the task file's folder, as it runs there): the
 * request of attempt act-1/N, then its cancel line. */
static void expect_request_then_cancel(int attempt)
{
    char path[256], line[512] = "", id[32], cancel[64];
    snprintf(path, sizeof path, "%s/seen.txt", dir);
    snprintf(id, sizeof id, "\"id\":\"act-1/%d\"", attempt);
    snprintf(cancel, sizeof cancel, "{\"id\": \"act-1/%d\", \"cancel\": true}\n", attempt);
    FILE *f = fopen(path, "r");
    cr_assert(f, "the process ran in the task file's folder");
    cr_assert(fgets(line, sizeof line, f) && strstr(line, id), "the request: %s", line);
    cr_assert(fgets(line, sizeof line, f), "a second line");
    cr_assert_str_eq(line, cancel);
    fclose(f);
}

Test(exec_task, persistent_process_serves_every_attempt_with_one_pid)
{
    outcome a = run_task("t.echo", 1, 5, 30), b = run_task("t.echo", 2, 5, 30);
    cr_assert_eq(a.res, WEFT_TASK_OK, "%s", a.err);
    cr_assert_eq(b.res, WEFT_TASK_OK, "%s", b.err);
    json_int_t pid = json_integer_value(json_object_get(a.output, "pid"));
    cr_assert_gt(pid, 0);
    cr_assert_eq(pid, json_integer_value(json_object_get(b.output, "pid")), "same process");
    cr_assert_eq(pid, weft_exec_pid(pool, "t.echo"));
    outcome c = run_task("t.echo2", 3, 5, 30);
    cr_assert_eq(json_integer_value(json_object_get(c.output, "pid")), pid,
                 "another task of the same command: the same process");
    json_decref(a.output);
    json_decref(b.output);
    json_decref(c.output);
}

Test(exec_task, progress_lines_reach_the_caller_and_failure_codes_are_kept)
{
    outcome o = run_task("t.progress", 1, 5, 30);
    cr_assert_eq(o.res, WEFT_TASK_PERMANENT, "%s", o.err);
    cr_assert_eq(last_progress, 50, "the progress reached the caller");
    cr_assert_str_eq(last_message, "half");
    cr_assert_str_eq(o.err, "t.progress: no such user");
    cr_assert_neq(weft_exec_pid(pool, "t.progress"), 0, "a failure answer keeps the process");
}

Test(exec_task, every_protocol_violation_fails_the_attempt_and_replaces_the_process)
{
    expect_failure("t.garbage", WEFT_TASK_TRANSIENT, "not a JSON object");
    expect_failure("t.toolong", WEFT_TASK_PERMANENT, "more than 1024 bytes");
    expect_failure("t.badutf8", WEFT_TASK_TRANSIENT, "not valid UTF-8");
    expect_failure("t.otherid", WEFT_TASK_TRANSIENT, "answered for \"someone-else/9\"");
    expect_failure("t.noid", WEFT_TASK_TRANSIENT, "without a string \"id\"");
    expect_failure("t.exits", WEFT_TASK_TRANSIENT, "exited with status 3 before it answered");
    expect_failure("t.crash", WEFT_TASK_TRANSIENT, "killed by signal 9");
}

Test(exec_task, a_long_failure_message_is_cut_on_a_character_boundary)
{
    outcome o = run_task("t.longmsg", 1, 5, 30);
    cr_assert_eq(o.res, WEFT_TASK_TRANSIENT, "%s", o.err);
    cr_assert(strncmp(o.err, "t.longmsg: x\xc3\xa9", 14) == 0, "%s", o.err);
    json_t *s = json_string(o.err);
    cr_assert(s, "the cut message is valid UTF-8 (Postgres refuses anything else)");
    json_decref(s);
}

Test(exec_task, data_that_is_not_an_object_is_permanent)
{
    outcome o = run_task("t.notobject", 1, 5, 30);
    cr_assert_eq(o.res, WEFT_TASK_PERMANENT, "%s", o.err);
    cr_assert(strstr(o.err, "not a JSON object"), "%s", o.err);
}

Test(exec_task, silent_process_times_out_gets_the_cancel_line_and_is_replaced)
{
    idle_calls = 0;
    outcome o = run_task("t.silent", 4, 1, 30);
    cr_assert_eq(o.res, WEFT_TASK_TRANSIENT);
    cr_assert(strstr(o.err, "task 't.silent' timed out after 1 s"), "%s", o.err);
    cr_assert_geq(idle_calls, 5, "the caller's idle ran while it waited (%d)", idle_calls);
    cr_assert_eq(weft_exec_pid(pool, "t.silent"), 0);
    expect_request_then_cancel(4);
}

Test(exec_task, stop_past_the_grace_abandons_the_attempt)
{
    weft_stop_requested = 1;
    outcome o = run_task("t.silent", 1, 0, 0);
    weft_stop_requested = 0;
    cr_assert(o.abandoned);
    cr_assert_eq(weft_exec_pid(pool, "t.silent"), 0);
}

Test(exec_task, a_cancel_sends_the_cancel_line_and_abandons_the_attempt_at_once)
{
    idle_calls = 0;
    cancel_at_idle = 3;
    double start = weft_clock_s();
    outcome o = run_task("t.silent", 2, 30, 30); /* neither its timeout nor a grace applies */
    cancel_at_idle = 0;
    cr_assert(o.abandoned, "%s", o.err);
    cr_assert_str_eq(o.err, "stopped by cancel");
    cr_assert_lt(weft_clock_s() - start, 5, "stopped at once, not after the 30 s grace");
    cr_assert_eq(weft_exec_pid(pool, "t.silent"), 0, "the process is replaced");
    expect_request_then_cancel(2);
}

Test(exec_task, environment_holds_path_home_the_task_env_and_the_attempt_only)
{
    setenv("WEFT_DATABASE_URL", "postgresql://weft:secret@127.0.0.1/weft", 1);
    setenv("WEFT_AMQP_URL", "amqp://guest:secret@127.0.0.1", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    outcome o = run_task("t.env", 7, 5, 30);
    cr_assert_eq(o.res, WEFT_TASK_OK, "%s", o.err);
    const char *names = json_string_value(json_object_get(o.output, "names"));
    cr_assert(names);
    cr_assert(strstr(names, "PATH ") && strstr(names, "MODEL ") &&
                  strstr(names, "WEFT_ACTIVITY_UID ") && strstr(names, "WEFT_ATTEMPT ") &&
                  strstr(names, "WEFT_WORKFLOW_UID "),
              "%s", names);
    cr_assert_null(strstr(names, "_URL"), "no connection URL: %s", names);
    cr_assert_null(strstr(names, "AWS_"), "no secret of the worker's: %s", names);
    char *real = realpath(dir, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(o.output, "dir")), real);
    free(real);
    json_decref(o.output);
}

Test(exec_task, oneshot_process_runs_once_per_attempt)
{
    outcome o = run_task("t.stderr", 1, 5, 30);
    cr_assert_eq(o.res, WEFT_TASK_TRANSIENT, "it exited without an answer: %s", o.err);
    cr_assert(strstr(o.err, "exited with status 0 before it answered"), "%s", o.err);
    o = run_task("t.env", 1, 5, 30);
    cr_assert_eq(o.res, WEFT_TASK_OK, "%s", o.err);
    cr_assert_eq(weft_exec_pid(pool, "t.env"), 0, "no process kept");
    json_decref(o.output);
}

Test(exec_task, a_process_silent_past_heartbeat_s_fails_transient_and_is_replaced)
{
    heartbeat_s = 1;
    double start = weft_clock_s();
    outcome o = run_task("t.silent", 3, 0, 30);
    cr_assert_eq(o.res, WEFT_TASK_TRANSIENT, "%s", o.err);
    cr_assert_str_eq(o.err, "task 't.silent': no heartbeat for 1 s (heartbeat_s 1)");
    cr_assert_lt(weft_clock_s() - start, 4, "stopped soon after the silence");
    cr_assert_eq(weft_exec_pid(pool, "t.silent"), 0, "the process is replaced");
    expect_request_then_cancel(3); /* told before it was stopped */
}

Test(exec_task, heartbeat_and_progress_lines_keep_a_long_attempt_alive)
{
    heartbeat_s = 1;
    const char *tasks[] = {"t.beats", "t.progresses"};
    for (size_t i = 0; i < 2; i++) {
        outcome o = run_task(tasks[i], 1, 0, 30);
        cr_assert_eq(o.res, WEFT_TASK_OK, "%s ran 1.5 s with heartbeat_s 1: %s", tasks[i], o.err);
        cr_assert_neq(weft_exec_pid(pool, tasks[i]), 0, "its process is kept");
        json_decref(o.output);
    }
    heartbeat_s = 0;
}

Test(exec_task, a_heartbeat_line_whose_heartbeat_is_not_true_breaks_the_protocol)
{
    expect_failure("t.badbeat", WEFT_TASK_TRANSIENT,
                   "heartbeat line whose \"heartbeat\" is not true");
}

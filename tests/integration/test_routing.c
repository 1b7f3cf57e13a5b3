/* Routing (DESIGN §9): two workers, one consuming queue `gpu` and serving an exec task
 * `gpu`, one consuming `default` with the built-in tasks. Every attempt of a workflow that
 * mixes them, a retry of a gpu activity included, runs on the worker serving its queue (the
 * registry ids recorded on the attempts say so); both workers are listed by `weft workers`
 * with their queues and task types, alive and then stopped; a misspelt task type is refused
 * by `weft submit` and by weft-entry with the known types listed, and accepted with
 * --allow-unknown-tasks. */
#include "harness.h"

#include "alloc.h"
#include "clock.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static harness_procs procs;     /* entry, the default worker, handoff */
static harness_procs gpu_procs; /* activity: the gpu worker */
static char dir[] = "/tmp/weft-routing-it-XXXXXX";

static void setup(void)
{
    cr_assert(mkdtemp(dir));
    /* the task types come from the workers' registrations, not from a shared task file */
    unsetenv("WEFT_TASKS_FILE");
}

static void teardown(void)
{
    harness_stop(&gpu_procs);
    harness_stop(&procs);
    char *cmd = weft_xasprintf("rm -rf '%s'", dir);
    harness_run(cmd, NULL);
    free(cmd);
}

TestSuite(routing, .init = setup, .fini = teardown, .timeout = 180);

static char *write_definition(const char *name, const char *text)
{
    char *path = weft_xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f, "%s", path);
    fputs(text, f);
    fclose(f);
    return path;
}

/* `weft ARGS` with its stderr on stdout: the exit status, the output in *out (new). */
static int weft(const char *args, char **out)
{
    char *cmd = weft_xasprintf("'%s' %s 2>&1", getenv("WEFT_BIN_WEFT"), args);
    int rc = harness_run(cmd, out);
    free(cmd);
    return rc;
}

/* The registered workers (`weft workers --json`, new reference). */
static json_t *workers(void)
{
    char *out = NULL;
    int rc = weft("workers --json", &out);
    cr_assert_eq(rc, 0, "weft workers --json: %s", out);
    json_t *list = json_loads(out, 0, NULL);
    cr_assert(json_is_array(list), "weft workers --json prints an array: %s", out);
    free(out);
    return list;
}

/* The worker of process pid in list (borrowed), the newest one with that pid, or NULL. */
static json_t *worker_of(json_t *list, pid_t pid)
{
    size_t i;
    json_t *w;
    json_array_foreach(list, i, w)
    {
        if (json_integer_value(json_object_get(w, "pid")) == pid)
            return w;
    }
    return NULL;
}

/* Waits until process pid is registered in state (asserts within 20 s); its id (new). */
static char *wait_worker(pid_t pid, const char *state)
{
    double end = weft_clock_s() + 20;
    for (;;) {
        json_t *list = workers();
        json_t *w = worker_of(list, pid);
        if (w && strcmp(json_string_value(json_object_get(w, "state")), state) == 0) {
            char *id = weft_xstrdup(json_string_value(json_object_get(w, "id")));
            json_decref(list);
            return id;
        }
        json_decref(list);
        cr_assert_lt(weft_clock_s(), end, "worker of pid %d %s within 20 s", (int)pid, state);
        usleep(200 * 1000);
    }
}

static bool has_string(const json_t *array, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v)
    {
        if (strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

static void start_workers(char **default_id, char **gpu_id)
{
    char *log = weft_xasprintf("%s/gpu-worker.log", dir);
    const char *gpu_args[] = {"--tasks", harness_data("routing/gpu_tasks.json"), "--concurrency",
                              "1", NULL};
    gpu_procs.activity = harness_spawn_logged("weft-activity", gpu_args, log);
    free(log);
    harness_start(&procs, 2);
    *gpu_id = wait_worker(gpu_procs.activity, "alive");
    *default_id = wait_worker(procs.activity, "alive");
}

/* Asserts that every attempt of activity name ran on the worker `id`; returns how many. */
static size_t expect_ran_on(json_t *acts, const char *name, const char *id, const char *which)
{
    json_t *a = harness_activity(acts, name);
    cr_assert(a, "activity %s", name);
    json_t *attempts = json_object_get(a, "attempts");
    size_t i;
    json_t *t;
    json_array_foreach(attempts, i, t)
    {
        const char *ran = json_string_value(json_object_get(t, "worker_id"));
        cr_expect(ran && strcmp(ran, id) == 0, "attempt %zu of %s ran on %s, not the %s worker %s",
                  i + 1, name, ran ? ran : "(none)", which, id);
    }
    return json_array_size(attempts);
}

Test(routing, every_attempt_runs_on_the_worker_that_serves_its_queue)
{
    char *default_id, *gpu_id;
    start_workers(&default_id, &gpu_id);

    char *path = write_definition(
        "mixed.json",
        "{\"name\": \"routing\", \"activities\": ["
        "{\"name\": \"prep\", \"task\": \"noop\", \"params\": {\"frames\": 2}},"
        "{\"name\": \"render\", \"task\": \"gpu\", \"queue\": \"gpu\", \"depends_on\": [\"prep\"],"
        " \"params\": {\"flaky\": true},"
        " \"retry\": {\"max_retries\": 2, \"initial_delay_ms\": 200, \"max_delay_ms\": 200}},"
        "{\"name\": \"upscale\", \"task\": \"gpu\", \"queue\": \"gpu\", \"depends_on\": "
        "[\"prep\"]},"
        "{\"name\": \"publish\", \"task\": \"noop\", \"queue\": \"default\","
        " \"depends_on\": [\"render\", \"upscale\"]}]}");
    char *args = weft_xasprintf("submit '%s'", path);
    char *out = NULL;
    cr_assert_eq(weft(args, &out), 0, "a task type a worker declared is known: %s", out);
    char uid[WEFT_UUID_LEN + 1];
    cr_assert_eq(sscanf(out, "%36s", uid), 1, "%s", out);
    free(out);
    free(args);
    free(path);

    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    cr_expect_str_eq(
        json_string_value(json_object_get(json_object_get(w.output, "publish"), "rendered_on")),
        "gpu");
    weft_workflow_info_finish(&w);

    json_t *acts = harness_activities(uid);
    cr_expect_eq(expect_ran_on(acts, "prep", default_id, "default"), 1);
    cr_expect_eq(expect_ran_on(acts, "render", gpu_id, "gpu"), 2,
                 "the retry of the first attempt's failure ran on the gpu worker too");
    cr_expect_eq(expect_ran_on(acts, "upscale", gpu_id, "gpu"), 1);
    cr_expect_eq(expect_ran_on(acts, "publish", default_id, "default"), 1);
    cr_expect_str_eq(json_string_value(json_object_get(harness_activity(acts, "render"), "queue")),
                     "gpu");
    json_decref(acts);

    /* both are listed with what they consume and serve */
    json_t *list = workers();
    json_t *gpu = worker_of(list, gpu_procs.activity), *dflt = worker_of(list, procs.activity);
    cr_assert(gpu && dflt);
    cr_expect_eq(json_array_size(json_object_get(gpu, "queues")), 1);
    cr_expect(has_string(json_object_get(gpu, "queues"), "gpu"));
    cr_expect(has_string(json_object_get(gpu, "tasks"), "gpu"));
    cr_expect(has_string(json_object_get(gpu, "tasks"), "noop"), "the built-in ones too");
    cr_expect_eq(json_array_size(json_object_get(dflt, "queues")), 1);
    cr_expect(has_string(json_object_get(dflt, "queues"), "default"));
    cr_expect_not(has_string(json_object_get(dflt, "tasks"), "gpu"));
    cr_expect_eq(json_integer_value(json_object_get(dflt, "concurrency")), 2);
    cr_expect(json_is_object(json_object_get(dflt, "limits")));
    json_decref(list);
    char *text = NULL;
    cr_assert_eq(weft("workers", &text), 0, "%s", text);
    cr_expect(strstr(text, gpu_id) && strstr(text, "alive"), "%s", text);
    free(text);

    /* a graceful stop is recorded */
    pid_t gpu_pid = gpu_procs.activity;
    harness_stop(&gpu_procs);
    free(wait_worker(gpu_pid, "stopped"));
    free(default_id);
    free(gpu_id);
}

Test(routing, a_misspelt_task_is_refused_with_the_known_types_unless_allowed)
{
    char *default_id, *gpu_id;
    start_workers(&default_id, &gpu_id);
    free(default_id);
    free(gpu_id);
    const char *typo = "{\"name\": \"typo\", \"activities\": ["
                       "{\"name\": \"render\", \"task\": \"gpx\", \"queue\": \"gpu\"}]}";
    char *path = write_definition("typo.json", typo);

    /* weft submit checks before it sends anything */
    char *args = weft_xasprintf("submit '%s'", path);
    char *out = NULL;
    cr_assert_eq(weft(args, &out), 3, "%s", out);
    cr_expect(strstr(out, "invalid definition: activity 'render': unknown task 'gpx' (known: "),
              "%s", out);
    cr_expect(strstr(out, " gpu,") || strstr(out, " gpu)"), "the gpu worker's type is listed: %s",
              out);
    /* the built-in types are listed too, unless the list was cut short: every test's task
     * types stay registered in a shared database, and the list stops at a few hundred chars */
    cr_expect(strstr(out, "noop") || strstr(out, " more)"), "%s", out);
    free(out);
    free(args);

    /* and so does weft-entry, for a message that did not come through weft submit */
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(typo, NULL, uid);
    char *reason = harness_dead_find(uid, 20);
    cr_assert(reason, "the entry message is dead-lettered");
    cr_expect(strstr(reason, "invalid definition: activity 'render': unknown task 'gpx' (known: "),
              "%s", reason);
    cr_expect(strstr(reason, "gpu"), "%s", reason);
    free(reason);
    weft_store *s = harness_store();
    weft_workflow_info w;
    weft_err err = {0};
    cr_expect_eq(weft_store_workflow(s, uid, &w, &err), WEFT_ENOTFOUND, "no workflow is created");
    weft_store_destroy(s);

    /* --allow-unknown-tasks on both: accepted, and the gpu worker is the one to find out */
    harness_procs entry = {.entry = procs.entry};
    harness_stop(&entry);
    const char *allow[] = {"--allow-unknown-tasks", NULL};
    procs.entry = harness_spawn("weft-entry", allow);
    args = weft_xasprintf("submit --allow-unknown-tasks '%s'", path);
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    cr_assert_eq(sscanf(out, "%36s", uid), 1, "%s", out);
    free(out);
    free(args);
    harness_wait(uid, 30, &w);
    cr_expect_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_expect(w.error && strstr(w.error, "task 'gpx' is not registered in this worker"), "%s",
              w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    free(path);
}

Test(routing, one_worker_serves_every_queue_its_task_file_lists)
{
    harness_start(&procs, 1);
    char *tasks =
        write_definition("two_queues.json", "{\"queues\": [\"io\", \"batch\"], \"tasks\": {}}");
    const char *args[] = {"--tasks", tasks, "--concurrency", "1", NULL};
    gpu_procs.activity = harness_spawn("weft-activity", args);
    char *id = wait_worker(gpu_procs.activity, "alive");
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(
        "{\"name\": \"two_queues\", \"activities\": ["
        "{\"name\": \"read\", \"task\": \"sleep\", \"queue\": \"io\", \"params\": {\"ms\": 50}},"
        "{\"name\": \"crunch\", \"task\": \"noop\", \"queue\": \"batch\"},"
        "{\"name\": \"write\", \"task\": \"noop\", \"queue\": \"io\","
        " \"depends_on\": [\"read\", \"crunch\"]}]}",
        NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    cr_expect_eq(expect_ran_on(acts, "read", id, "io"), 1);
    cr_expect_eq(expect_ran_on(acts, "crunch", id, "batch"), 1);
    cr_expect_eq(expect_ran_on(acts, "write", id, "io"), 1);
    json_decref(acts);
    free(id);
    free(tasks);
}

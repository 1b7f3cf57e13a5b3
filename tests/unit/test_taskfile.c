/* The worker's task file: every mistake is found at load, naming the task and the field;
 * programs resolve against the file's folder or PATH and must be executable. */
#include "taskfile.h"
#include "tasks.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/weft-taskfile-XXXXXX";

static void write_file(const char *name, const char *text, mode_t mode)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static void setup(void)
{
    cr_assert(mkdtemp(dir));
    write_file("run.sh", "#!/bin/sh\n", 0755);
    write_file("plain.txt", "not a program\n", 0644);
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(taskfile, .init = setup, .fini = teardown);

/* Loads text as the task file; returns the status, the error in err. */
static weft_status load(const char *text, weft_taskfile **tf, weft_err *err)
{
    write_file("tasks.json", text, 0644);
    char path[256];
    snprintf(path, sizeof path, "%s/tasks.json", dir);
    return weft_taskfile_load(path, true, tf, err);
}

static void expect_error(const char *text, const char *needle)
{
    weft_taskfile *tf = NULL;
    weft_err err = {0};
    cr_assert_eq(load(text, &tf, &err), WEFT_EINVAL, "accepted: %s", text);
    cr_assert_null(tf);
    cr_assert(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg, needle);
    cr_assert(strstr(err.msg, "tasks.json"), "names the file: %s", err.msg);
}

Test(taskfile, valid_file_resolves_programs_and_shares_commands)
{
    weft_taskfile *tf = NULL;
    weft_err err = {0};
    cr_assert_eq(load("{\"queues\": [\"default\"], \"tasks\": {"
                      "\"a\": {\"exec\": [\"./run.sh\", \"x\"], \"timeout_s\": 5},"
                      "\"b\": {\"exec\": [\"./run.sh\", \"x\"]},"
                      "\"c\": {\"exec\": [\"sh\", \"run.sh\"], \"mode\": \"oneshot\","
                      "        \"env\": {\"MODEL\": \"small\"}}}}",
                      &tf, &err),
                 WEFT_OK, "%s", err.msg);
    cr_assert_eq(tf->n, 3);
    const weft_taskfile_task *a = weft_taskfile_find(tf, "a"), *b = weft_taskfile_find(tf, "b"),
                             *c = weft_taskfile_find(tf, "c");
    cr_assert(a && b && c);
    cr_assert_eq(a->timeout_s, 5);
    cr_assert_eq(a->mode, WEFT_EXEC_PERSISTENT);
    cr_assert_eq(c->mode, WEFT_EXEC_ONESHOT);
    cr_assert_eq(a->command, b->command, "same exec: one command");
    cr_assert_neq(a->command, c->command);
    cr_assert_eq(tf->ncommands, 2);
    cr_assert_eq(a->program[0], '/', "resolved to an absolute path: %s", a->program);
    cr_assert(strstr(a->program, "/run.sh"));
    cr_assert_eq(c->program[0], '/', "found in PATH: %s", c->program);
    cr_assert_str_eq(c->env[0], "MODEL=small");
    cr_assert_null(c->env[1]);
    cr_assert_null(weft_taskfile_find(tf, "d"));
    weft_taskfile_destroy(tf);
}

Test(taskfile, each_mistake_names_the_task_and_the_field)
{
    expect_error("{\"tasks\": {}, \"extra\": 1}", "unknown field 'extra'");
    expect_error("{}", "tasks: missing");
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./run.sh\"], \"retries\": 3}}}",
                 "task 'a': unknown field 'retries'");
    expect_error("{\"tasks\": {\"a\": {\"mode\": \"oneshot\"}}}", "task 'a': exec: missing");
    expect_error("{\"tasks\": {\"a\": {\"exec\": []}}}", "task 'a': exec: must be a non-empty");
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./run.sh\", 3]}}}", "task 'a': exec[1]");
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./run.sh\"], \"mode\": \"daemon\"}}}",
                 "task 'a': mode:");
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./run.sh\"], \"timeout_s\": 0}}}",
                 "task 'a': timeout_s:");
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./run.sh\"], \"env\": {\"X\": 1}}}}",
                 "task 'a': env: 'X' must be a string");
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./run.sh\"], \"env\": "
                 "{\"WEFT_DATABASE_URL\": \"x\"}}}}",
                 "task 'a': env: 'WEFT_DATABASE_URL'");
    expect_error("{\"tasks\": {\"a b\": {\"exec\": [\"./run.sh\"]}}}", "task 'a b': the name");
    expect_error("{\"tasks\": {\"n\": {\"http\": \"http://127.0.0.1:9/\"}}}",
                 "task 'n': http: not supported");
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./run.sh\"], \"limit\": 2}}}",
                 "task 'a': limit: not supported");
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./run.sh\"]}, \"a\": {}}}", "duplicate");
    expect_error("{\"tasks\": ", "line 1");
}

/* Loads text; asserts it fails with exactly "task file 'PATH': " then want. */
static void expect_exact_error(const char *text, const char *want)
{
    weft_taskfile *tf = NULL;
    weft_err err = {0};
    cr_assert_eq(load(text, &tf, &err), WEFT_EINVAL, "accepted: %s", text);
    const char *rest = strstr(err.msg, "tasks.json': ");
    cr_assert(rest, "names the file: %s", err.msg);
    cr_expect_str_eq(rest + strlen("tasks.json': "), want);
}

Test(taskfile, queues_default_to_default_and_are_kept_in_order)
{
    weft_taskfile *tf = NULL;
    weft_err err = {0};
    cr_assert_eq(load("{\"tasks\": {}}", &tf, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(tf->nqueues, 1);
    cr_expect_str_eq(tf->queues[0], "default");
    weft_taskfile_destroy(tf);
    cr_assert_eq(
        load("{\"queues\": [\"gpu\", \"default\", \"io.slow-1\"], \"tasks\": {}}", &tf, &err),
        WEFT_OK, "%s", err.msg);
    cr_assert_eq(tf->nqueues, 3);
    cr_expect_str_eq(tf->queues[0], "gpu");
    cr_expect_str_eq(tf->queues[1], "default");
    cr_expect_str_eq(tf->queues[2], "io.slow-1");
    weft_taskfile_destroy(tf);
}

Test(taskfile, each_mistake_in_queues_is_named_exactly)
{
    expect_exact_error("{\"queues\": \"gpu\", \"tasks\": {}}",
                       "queues: must be a non-empty array of queue names (default: [\"default\"])");
    expect_exact_error("{\"queues\": [], \"tasks\": {}}",
                       "queues: must be a non-empty array of queue names (default: [\"default\"])");
    expect_exact_error("{\"queues\": [\"gpu\", 3], \"tasks\": {}}",
                       "queues[1]: must be a queue name matching [A-Za-z0-9_.-]{1,64}");
    expect_exact_error("{\"queues\": [\"g pu\"], \"tasks\": {}}",
                       "queues[0]: must be a queue name matching [A-Za-z0-9_.-]{1,64}");
    expect_exact_error("{\"queues\": [\"\"], \"tasks\": {}}",
                       "queues[0]: must be a queue name matching [A-Za-z0-9_.-]{1,64}");
    expect_exact_error("{\"queues\": [\"gpu\", \"default\", \"gpu\"], \"tasks\": {}}",
                       "queues[2]: 'gpu' is listed twice");
}

Test(taskfile, missing_or_non_executable_program_is_an_error_at_load)
{
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./absent.sh\"]}}}", "task 'a': exec: program");
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./plain.txt\"]}}}", "not executable");
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"no-such-program-weft\"]}}}",
                 "'no-such-program-weft' not found in PATH");
}

Test(taskfile, names_only_load_skips_the_program_check)
{
    write_file("tasks.json", "{\"tasks\": {\"a\": {\"exec\": [\"./absent.sh\"]}}}", 0644);
    char path[256];
    snprintf(path, sizeof path, "%s/tasks.json", dir);
    weft_taskfile *tf = NULL;
    weft_err err = {0};
    cr_assert_eq(weft_taskfile_load(path, false, &tf, &err), WEFT_OK, "%s", err.msg);
    cr_assert_null(tf->tasks[0].program);
    weft_taskfile_destroy(tf);
}

Test(taskfile, declared_tasks_are_known_to_validation_and_may_not_shadow_builtins)
{
    weft_task_registry *r = weft_task_registry_create();
    weft_tasks_register_builtin(r);
    weft_taskfile *tf = NULL;
    weft_err err = {0};
    cr_assert_eq(load("{\"tasks\": {\"mine\": {\"exec\": [\"./run.sh\"]}}}", &tf, &err), WEFT_OK);
    cr_assert_eq(weft_taskfile_declare(tf, r, &err), WEFT_OK);
    cr_assert(weft_task_known(r, "mine"));
    cr_assert_null(weft_task_lookup(r, "mine"), "no handler in this process");
    weft_taskfile_destroy(tf);
    cr_assert_eq(load("{\"tasks\": {\"noop\": {\"exec\": [\"./run.sh\"]}}}", &tf, &err), WEFT_OK);
    cr_assert_eq(weft_taskfile_declare(tf, r, &err), WEFT_EINVAL);
    cr_assert(strstr(err.msg, "task 'noop': a built-in task has this name"), "%s", err.msg);
    weft_taskfile_destroy(tf);
    weft_task_registry_destroy(r);
}

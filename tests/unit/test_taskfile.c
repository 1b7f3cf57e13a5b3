/* The worker's task file: every mistake is found at load, naming the task and the field;
 * programs resolve against the file's folder or PATH and must be executable; an http task's
 * URL parses as http(s) and its secret is read at load. */
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
    write_file("secret.txt", "s3cret\n", 0600);
    write_file("two-lines.txt", "key\n\n", 0600);
    write_file("empty.txt", "", 0600);
    write_file("newline.txt", "\n", 0600);
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
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./run.sh\"], \"limit\": 0}}}",
                 "task 'a': limit: must be a whole number in 1..10000");
    expect_error("{\"tasks\": {\"a\": {\"exec\": [\"./run.sh\"], \"limit\": \"2\"}}}",
                 "task 'a': limit: must be a whole number in 1..10000");
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
    cr_assert_eq(load("{\"tasks\": {\"mine\": {\"exec\": [\"./run.sh\"]},"
                      "\"hook\": {\"http\": \"http://h/\"}}}",
                      &tf, &err),
                 WEFT_OK);
    cr_assert_eq(weft_taskfile_declare(tf, r, &err), WEFT_OK);
    cr_assert(weft_task_known(r, "mine") && weft_task_known(r, "hook"));
    cr_assert_null(weft_task_lookup(r, "mine"), "no handler in this process");
    weft_taskfile_destroy(tf);
    const char *shadows[] = {"{\"tasks\": {\"noop\": {\"exec\": [\"./run.sh\"]}}}",
                             "{\"tasks\": {\"noop\": {\"http\": \"http://h/\"}}}"};
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(load(shadows[i], &tf, &err), WEFT_OK);
        cr_assert_eq(weft_taskfile_declare(tf, r, &err), WEFT_EINVAL);
        cr_assert_str_eq(err.msg, "task file: task 'noop': a built-in task has this name");
        weft_taskfile_destroy(tf);
    }
    weft_task_registry_destroy(r);
}

Test(taskfile, http_task_keeps_its_url_timeout_and_secret_without_the_trailing_newline)
{
    weft_taskfile *tf = NULL;
    weft_err err = {0};
    cr_assert_eq(load("{\"tasks\": {"
                      "\"notify\": {\"http\": \"http://127.0.0.1:9000/notify\", \"timeout_s\": 10,"
                      "             \"secret_file\": \"secret.txt\"},"
                      "\"two\": {\"http\": \"https://hooks.example/x?y=1\","
                      "          \"secret_file\": \"two-lines.txt\"},"
                      "\"open\": {\"http\": \"HTTP://127.0.0.1:9000/open\"}}}",
                      &tf, &err),
                 WEFT_OK, "%s", err.msg);
    cr_assert_eq(tf->nhttp, 3);
    cr_assert_eq(tf->n, 0, "no exec task, no command");
    const weft_taskfile_http *n = weft_taskfile_find_http(tf, "notify");
    cr_assert(n);
    cr_assert_str_eq(n->url, "http://127.0.0.1:9000/notify");
    cr_assert_eq(n->timeout_s, 10);
    cr_assert_eq(n->secret_len, 6);
    cr_assert_eq(memcmp(n->secret, "s3cret", 6), 0);
    const weft_taskfile_http *two = weft_taskfile_find_http(tf, "two");
    cr_assert_eq(two->secret_len, 4, "one newline stripped, not two");
    cr_assert_eq(memcmp(two->secret, "key\n", 4), 0);
    const weft_taskfile_http *open = weft_taskfile_find_http(tf, "open");
    cr_assert_null(open->secret);
    cr_assert_eq(open->timeout_s, 0);
    cr_assert_null(weft_taskfile_find(tf, "notify"), "not an exec task");
    cr_assert_null(weft_taskfile_find_http(tf, "absent"));
    weft_taskfile_destroy(tf);
}

Test(taskfile, names_only_load_does_not_read_the_secret)
{
    write_file("tasks.json",
               "{\"tasks\": {\"n\": {\"http\": \"http://h/\", \"secret_file\": \"absent.txt\"}}}",
               0644);
    char path[256];
    snprintf(path, sizeof path, "%s/tasks.json", dir);
    weft_taskfile *tf = NULL;
    weft_err err = {0};
    cr_assert_eq(weft_taskfile_load(path, false, &tf, &err), WEFT_OK, "%s", err.msg);
    cr_assert_null(tf->http[0].secret);
    weft_taskfile_destroy(tf);
}

/* Loads text, expecting exactly "task file 'PATH': " and then want. */
static void expect_exact(const char *text, const char *want)
{
    weft_taskfile *tf = NULL;
    weft_err err = {0};
    cr_assert_eq(load(text, &tf, &err), WEFT_EINVAL, "accepted: %s", text);
    cr_assert_null(tf);
    char full[1024];
    snprintf(full, sizeof full, "task file '%s/tasks.json': %s", dir, want);
    cr_assert_str_eq(err.msg, full);
}

/* A task file of one http task "n" whose fields, after "http", are rest. */
static char *http_task(const char *url, const char *rest)
{
    static char text[512];
    snprintf(text, sizeof text, "{\"tasks\": {\"n\": {\"http\": %s%s}}}", url, rest);
    return text;
}

Test(taskfile, each_http_mistake_is_one_exact_line_naming_the_task_and_the_field)
{
    char *real = realpath(dir, NULL), want[600];
    cr_assert(real);
    static const struct {
        const char *url, *rest, *want;
    } cases[] = {
        {"5", "", "http: must be the endpoint's URL, a string without NUL"},
        {"\"ftp://127.0.0.1/x\"", "",
         "http: 'ftp://127.0.0.1/x' must be an http:// or https:// URL"},
        {"\"file:///etc/passwd\"", "",
         "http: 'file:///etc/passwd' must be an http:// or https:// URL"},
        {"\"127.0.0.1:9000/x\"", "",
         "http: '127.0.0.1:9000/x' is not a URL (Unsupported URL scheme)"},
        {"\"not a url\"", "", "http: 'not a url' is not a URL (Bad scheme)"},
        {"\"http://\"", "", "http: 'http://' is not a URL (No host part in the URL)"},
        {"\"http://u:pw@h:99999/\"", "",
         "http: 'http://u:***@h:99999/' is not a URL (Port number was not a decimal number"
         " between 0 and 65535)"},
        {"\"http://h/\"", ", \"exec\": [\"./run.sh\"]",
         "exec: not allowed with http (an http task runs no program)"},
        {"\"http://h/\"", ", \"mode\": \"oneshot\"",
         "mode: not allowed with http (an http task runs no program)"},
        {"\"http://h/\"", ", \"env\": {}",
         "env: not allowed with http (an http task runs no program)"},
        {"\"http://h/\"", ", \"retries\": 3",
         "unknown field 'retries' (known for an http task: http, timeout_s, secret_file, limit)"},
        {"\"http://h/\"", ", \"timeout_s\": 0", "timeout_s: must be a whole number in 1..86400"},
        {"\"http://h/\"", ", \"limit\": 20000", "limit: must be a whole number in 1..10000"},
        {"\"http://h/\"", ", \"secret_file\": 3",
         "secret_file: must be a path (relative to the task file's folder)"},
        {"\"http://h/\"", ", \"secret_file\": \"\"",
         "secret_file: must be a path (relative to the task file's folder)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(want, sizeof want, "task 'n': %s", cases[i].want);
        expect_exact(http_task(cases[i].url, cases[i].rest), want);
    }
    snprintf(want, sizeof want,
             "task 'n': secret_file: '%s/absent.txt' cannot be read: No such file or directory",
             real);
    expect_exact(http_task("\"http://h/\"", ", \"secret_file\": \"absent.txt\""), want);
    snprintf(want, sizeof want, "task 'n': secret_file: '%s' cannot be read: Is a directory", real);
    char rest[400];
    snprintf(rest, sizeof rest, ", \"secret_file\": \"%s\"", real);
    expect_exact(http_task("\"http://h/\"", rest), want);
    snprintf(want, sizeof want, "task 'n': secret_file: '%s/empty.txt' is empty", real);
    expect_exact(http_task("\"http://h/\"", ", \"secret_file\": \"empty.txt\""), want);
    snprintf(want, sizeof want, "task 'n': secret_file: '%s/newline.txt' is empty", real);
    expect_exact(http_task("\"http://h/\"", ", \"secret_file\": \"newline.txt\""), want);
    /* an exec task has no secret */
    expect_error(
        "{\"tasks\": {\"a\": {\"exec\": [\"./run.sh\"], \"secret_file\": \"secret.txt\"}}}",
        "task 'a': unknown field 'secret_file'");
    free(real);
}

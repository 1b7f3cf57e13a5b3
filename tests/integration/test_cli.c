/* The weft CLI against the running consumers: submit, wait, status, and its errors. */
#include "alloc.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static harness_procs procs;
static void up(void)
{
    harness_start(&procs, 2);
}
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(cli, .init = up, .fini = down, .timeout = 120);

static char *last_line(char *out)
{
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '\n')
        out[--n] = '\0';
    char *nl = strrchr(out, '\n');
    return nl ? nl + 1 : out;
}

Test(cli, submit_then_wait_prints_only_the_output_json_and_exits_0)
{
    char *def =
        harness_write_temp("{\"name\":\"cli\",\"activities\":["
                           "{\"name\":\"one\",\"task\":\"noop\",\"params\":{\"p\":1}},"
                           "{\"name\":\"two\",\"task\":\"noop\",\"depends_on\":[\"one\"]}]}");
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "'%s' submit '%s' --inputs '{\"q\":2}'", getenv("WEFT_BIN_WEFT"),
             def);
    cr_assert_eq(harness_run(cmd, &out), 0, "submit failed: %s", out);
    char uid[64];
    snprintf(uid, sizeof uid, "%s", last_line(out));
    free(out);
    cr_assert(weft_uuid_valid(uid), "last line is the uid: '%s'", uid);

    snprintf(cmd, sizeof cmd, "'%s' wait %s --timeout 60", getenv("WEFT_BIN_WEFT"), uid);
    cr_assert_eq(harness_run(cmd, &out), 0, "wait failed");
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    cr_assert(o, "stdout of wait is JSON alone: %s", out);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "two"), "p")), 1);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "two"), "q")), 2);
    json_decref(o);
    free(out);

    snprintf(cmd, sizeof cmd, "'%s' status %s", getenv("WEFT_BIN_WEFT"), uid);
    cr_assert_eq(harness_run(cmd, &out), 0);
    cr_assert(strstr(out, "completed") && strstr(out, "one") && strstr(out, "two"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' status %s --json", getenv("WEFT_BIN_WEFT"), uid);
    cr_assert_eq(harness_run(cmd, &out), 0);
    o = json_loads(out, 0, &je);
    cr_assert(o, "status --json is JSON");
    cr_assert_eq(json_array_size(json_object_get(o, "activities")), 2);
    json_decref(o);
    free(out);
    remove(def);
    free(def);
}

Test(cli, wait_on_a_failed_workflow_exits_1_with_the_error_on_stderr)
{
    char *def = harness_write_temp(
        "{\"name\":\"clifail\",\"activities\":[{\"name\":\"f\",\"task\":\"fail\","
        "\"params\":{\"message\":\"nope-42\"}}]}");
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "'%s' submit '%s' --wait --timeout 60 2>&1 >/dev/null",
             getenv("WEFT_BIN_WEFT"), def);
    cr_assert_eq(harness_run(cmd, &out), 1, "exit 1 on failure");
    cr_assert(strstr(out, "nope-42"), "stderr has the error: %s", out);
    free(out);
    remove(def);
    free(def);
}

Test(cli, bad_input_gives_one_line_errors_and_nonzero_exit)
{
    const char *weft = getenv("WEFT_BIN_WEFT");
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "'%s' submit /nonexistent/x.json 2>&1", weft);
    cr_assert_eq(harness_run(cmd, &out), 3);
    cr_assert(strstr(out, "cannot read '/nonexistent/x.json'"), "%s", out);
    free(out);

    char *def = harness_write_temp("{\"name\": \"x\",\n \"activities\": [oops]}");
    snprintf(cmd, sizeof cmd, "'%s' submit '%s' 2>&1", weft, def);
    cr_assert_eq(harness_run(cmd, &out), 3);
    cr_assert(strstr(out, "line 2"), "JSON errors carry line and column: %s", out);
    free(out);
    remove(def);
    free(def);

    snprintf(cmd, sizeof cmd, "'%s' status 00000000-0000-4000-8000-000000000000 2>&1", weft);
    cr_assert_eq(harness_run(cmd, &out), 3);
    cr_assert(strstr(out, "unknown workflow"), "%s", out);
    free(out);

    snprintf(cmd, sizeof cmd,
             "WEFT_AMQP_URL=amqp://guest:guest@127.0.0.1:1/ '%s' resume "
             "00000000-0000-4000-8000-000000000000 2>&1",
             weft);
    cr_assert_eq(harness_run(cmd, &out), 3);
    free(out);

    snprintf(cmd, sizeof cmd, "'%s' wait 00000000-0000-4000-8000-000000000000 --timeout 1 2>&1",
             weft);
    cr_assert_eq(harness_run(cmd, &out), 2, "timeout exits 2");
    free(out);

    snprintf(cmd, sizeof cmd, "'%s' submit --help", weft);
    cr_assert_eq(harness_run(cmd, &out), 0);
    cr_assert(strstr(out, "usage"));
    free(out);
}

Test(cli, unreachable_broker_is_a_clear_error)
{
    char *def =
        harness_write_temp("{\"name\":\"x\",\"activities\":[{\"name\":\"a\",\"task\":\"noop\"}]}");
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "WEFT_AMQP_URL=amqp://u:secretpw@127.0.0.1:1/ '%s' submit '%s' 2>&1",
             getenv("WEFT_BIN_WEFT"), def);
    cr_assert_eq(harness_run(cmd, &out), 3);
    cr_assert(strstr(out, "127.0.0.1:1"), "names the broker: %s", out);
    cr_assert(!strstr(out, "secretpw"), "never prints the password: %s", out);
    free(out);
    remove(def);
    free(def);
}

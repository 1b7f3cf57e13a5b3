/* Direct mode (`weft run`) gives the same results as the distributed consumers. */
#include "alloc.h"
#include "clock.h"
#include "harness.h"

#include <criterion/criterion.h>
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

TestSuite(direct, .init = up, .fini = down, .timeout = 120);

/* Runs `weft CMD FILE ...` and returns exit status, stdout and stderr (new strings). */
static int weft(const char *cmd, const char *file, char **out, char **err)
{
    char errpath[] = "/tmp/weft-direct-err-XXXXXX";
    int fd = mkstemp(errpath);
    close(fd);
    char line[2048];
    snprintf(line, sizeof line, "'%s' %s '%s' --inputs '{\"in\":7}' 2>'%s'",
             getenv("WEFT_BIN_WEFT"), cmd, file, errpath);
    int rc = harness_run(line, out);
    snprintf(line, sizeof line, "cat '%s'", errpath);
    harness_run(line, err);
    remove(errpath);
    return rc;
}

static void same_result(const char *definition)
{
    char *file = harness_write_temp(definition);
    char *dout, *derr, *rout, *rerr;
    int drc = weft("submit --wait --timeout 60", file, &dout, &derr);
    int rrc = weft("run", file, &rout, &rerr);
    cr_assert_eq(rrc, drc, "exit codes differ: run %d, distributed %d (%s | %s)", rrc, drc, rerr,
                 derr);
    cr_assert_str_eq(rout, dout, "outputs differ");
    if (drc != 0) {
        /* same error text, past the workflow uid that differs */
        const char *de = strstr(derr, ": activity"), *re = strstr(rerr, ": activity");
        cr_assert(de && re, "errors: %s | %s", derr, rerr);
        cr_assert_str_eq(re, de);
    }
    free(dout);
    free(derr);
    free(rout);
    free(rerr);
    remove(file);
    free(file);
}

Test(direct, chain_gives_the_same_output_in_both_modes)
{
    same_result("{\"name\":\"c\",\"activities\":["
                "{\"name\":\"a\",\"task\":\"noop\",\"params\":{\"a\":1}},"
                "{\"name\":\"b\",\"task\":\"noop\",\"depends_on\":[\"a\"],\"params\":{\"b\":2}},"
                "{\"name\":\"c\",\"task\":\"noop\",\"depends_on\":[\"b\"],\"params\":{\"c\":3}}]}");
}

Test(direct, diamond_gives_the_same_output_in_both_modes)
{
    same_result(
        "{\"name\":\"d\",\"activities\":["
        "{\"name\":\"a\",\"task\":\"noop\",\"params\":{\"k\":\"a\"}},"
        "{\"name\":\"b\",\"task\":\"sleep\",\"depends_on\":[\"a\"],"
        "\"params\":{\"k\":\"b\",\"ms\":100}},"
        "{\"name\":\"c\",\"task\":\"noop\",\"depends_on\":[\"a\"],\"params\":{\"k\":\"c\"}},"
        "{\"name\":\"d\",\"task\":\"noop\",\"depends_on\":[\"b\",\"c\"]}]}");
}

Test(direct, failure_gives_the_same_error_and_exit_code_in_both_modes)
{
    same_result("{\"name\":\"f\",\"activities\":["
                "{\"name\":\"a\",\"task\":\"noop\"},"
                "{\"name\":\"b\",\"task\":\"fail\",\"depends_on\":[\"a\"],"
                "\"params\":{\"code\":\"TRANSIENT\",\"message\":\"flaky\"},"
                "\"retry\":{\"max_retries\":1,\"initial_delay_ms\":50}}]}");
}

Test(direct, run_works_without_any_broker)
{
    char *file = harness_write_temp(
        "{\"name\":\"solo\",\"activities\":[{\"name\":\"x\",\"task\":\"noop\"}]}");
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "WEFT_AMQP_URL=amqp://guest:guest@127.0.0.1:1 '%s' run '%s'",
             getenv("WEFT_BIN_WEFT"), file);
    cr_assert_eq(harness_run(cmd, &out), 0);
    cr_assert(strstr(out, "\"x\""), "%s", out);
    free(out);
    remove(file);
    free(file);
}

Test(direct, run_stops_an_attempt_at_the_default_task_timeout)
{
    char *file = harness_write_temp("{\"name\":\"hangs\",\"activities\":[{\"name\":\"stuck\","
                                    "\"task\":\"sleep\",\"params\":{\"ms\":30000},"
                                    "\"retry\":{\"max_retries\":0}}]}");
    char *out, *err;
    double t0 = weft_clock_s();
    int rc = weft("run --task-timeout 1", file, &out, &err);
    cr_assert_lt(weft_clock_s() - t0, 15, "the 30 s sleep was cut at the 1 s default");
    cr_assert_eq(rc, 1, "the workflow failed (%s)", err);
    cr_assert(strstr(err, "timed out after 1 s (the default limit"), "%s", err);
    free(out);
    free(err);
    remove(file);
    free(file);
}

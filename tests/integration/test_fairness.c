/* Fairness (DESIGN §10) through the real consumers: a workflow never has more than its
 * max_parallel activities queued or running (sampled from Postgres while it runs), the held
 * ones are released as others finish until all complete, and a small workflow submitted
 * behind a big fan-out finishes while most of the fan-out is still to run, instead of
 * waiting for the whole backlog. */
#include "alloc.h"
#include "clock.h"
#include "harness.h"
#include "strbuf.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static harness_procs procs;

static void up(void)
{
    harness_start(&procs, 4);
}

static void down(void)
{
    harness_stop(&procs);
}

TestSuite(fairness, .init = up, .fini = down, .timeout = 300);

/* A fan-out of n independent activities of task (with params, JSON text) and a sink after
 * them all; max_parallel when > 0. New string. */
static char *fan_out(const char *name, int n, const char *task, const char *params,
                     int max_parallel)
{
    weft_strbuf b = {0};
    weft_strbuf_add(&b, "{\"name\":\"%s\",", name);
    if (max_parallel > 0)
        weft_strbuf_add(&b, "\"max_parallel\":%d,", max_parallel);
    weft_strbuf_add(&b, "\"activities\":[");
    for (int i = 0; i < n; i++)
        weft_strbuf_add(&b, "{\"name\":\"a%d\",\"task\":\"%s\",\"params\":%s},", i, task,
                           params);
    weft_strbuf_add(&b, "{\"name\":\"sink\",\"task\":\"noop\",\"depends_on\":[");
    for (int i = 0; i < n; i++)
        weft_strbuf_add(&b, "%s\"a%d\"", i ? "," : "", i);
    weft_strbuf_add(&b, "]}]}");
    return b.s;
}

static long sql_long(const char *sql, const char *uid)
{
    const char *p[] = {uid};
    char *v = harness_sql_value(sql, 1, p);
    long n = v ? atol(v) : -1;
    free(v);
    return n;
}

Test(fairness, a_workflow_never_has_more_than_max_parallel_queued_or_running)
{
    char *def = fan_out("fair_cap", 300, "sleep", "{\"ms\":5}", 25);
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(def, NULL, uid);
    free(def);
    long peak = 0, samples = 0;
    weft_workflow_info w = {0};
    for (double t0 = weft_clock_s(); weft_clock_s() - t0 < 120; samples++) {
        long busy = sql_long("SELECT count(*) FROM weft_activity WHERE workflow_uid = $1 "
                             "AND status IN ('queued', 'running', 'retrying')",
                             uid);
        if (busy > peak)
            peak = busy;
        /* -1 until it exists, 0 once it stopped running */
        long running = sql_long("SELECT coalesce((SELECT (status = 'running')::int FROM "
                                "weft_workflow WHERE uid = $1), -1)",
                                uid);
        if (running == 0)
            break;
        weft_clock_sleep_ms(20);
    }
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "%s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    cr_assert_gt(samples, 5, "the run was sampled (%ld samples)", samples);
    cr_assert_leq(peak, 25, "at most max_parallel (25) queued or running, saw %ld", peak);
    cr_assert_geq(peak, 20, "the cap was used, not just respected: peak %ld", peak);
    cr_assert_eq(sql_long("SELECT inflight + held FROM weft_workflow WHERE uid = $1", uid), 0,
                 "nothing counted as in flight or held at the end");
}

Test(fairness, a_small_workflow_is_not_stuck_behind_a_big_fan_out)
{
    char *big = fan_out("fair_big", 3000, "noop", "{}", 0);
    char big_uid[WEFT_UUID_LEN + 1], small_uid[WEFT_UUID_LEN + 1];
    harness_submit(big, NULL, big_uid);
    free(big);
    /* the big one is created (and its first activities queued) before the small one */
    for (double t0 = weft_clock_s();
         sql_long("SELECT count(*) FROM weft_workflow WHERE uid = $1", big_uid) < 1;) {
        cr_assert_lt(weft_clock_s() - t0, 30, "the big workflow was created");
        weft_clock_sleep_ms(20);
    }
    harness_submit("{\"name\":\"fair_small\",\"activities\":["
                   "{\"name\":\"one\",\"task\":\"noop\"},"
                   "{\"name\":\"two\",\"task\":\"noop\",\"depends_on\":[\"one\"]},"
                   "{\"name\":\"three\",\"task\":\"noop\",\"depends_on\":[\"two\"]}]}",
                   NULL, small_uid);
    weft_workflow_info w;
    harness_wait(small_uid, 120, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    weft_workflow_info_finish(&w);
    long left = sql_long("SELECT remaining FROM weft_workflow WHERE uid = $1", big_uid);
    cr_assert_gt(left, 1500,
                 "the small workflow finished while more than half of the big one was left "
                 "(%ld of 3001 left)",
                 left);
    harness_wait(big_uid, 240, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "%s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
}

/* The sharded handoff (DESIGN §15): with WEFT_HANDOFF_SHARDS=4 the workflows' handoffs spread
 * over four queues, served here by two handoff processes of two shards each, with a third
 * process as the hot standby of all four. The handoffs of one workflow still run one at a
 * time, whichever process and shard: the suite's build of the handoff (fault-weft-handoff)
 * records each handoff's start and end (handoff_trace.h), and no two of one workflow may
 * overlap. */
#include "alloc.h"
#include "clock.h"
#include "handoff_trace.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHARDS "4"
#define WORKFLOWS 40

static pid_t entry, activity, primary[2], standby;
static char *trace_path;

/* Starts one handoff process with args (borrowed, NULL-terminated) and waits until each of
 * its `shards` consumers subscribed, so the order of the starts decides who is active. */
static pid_t start_handoff(const char *const *args, int shards, const char *what)
{
    char *log = harness_write_temp("");
    pid_t pid = harness_spawn_logged("fault-weft-handoff", args, log);
    harness_wait_lines(log, ": consuming 'workflow_handoff", shards, 20, what);
    free(log);
    return pid;
}

static void up(void)
{
    trace_path = harness_write_temp("");
    setenv("WEFT_HANDOFF_SHARDS", SHARDS, 1);
    setenv("WEFT_FAULTS_HANDOFF_TRACE", trace_path, 1);
    entry = harness_spawn("weft-entry", NULL);
    activity = harness_spawn("weft-activity", (const char *const[]){"--concurrency", "4", NULL});
    primary[0] = start_handoff((const char *const[]){"--shard", "0,1", NULL}, 2,
                               "the handoff of shards 0 and 1 consuming");
    primary[1] = start_handoff((const char *const[]){"--shard", "2,3", NULL}, 2,
                               "the handoff of shards 2 and 3 consuming");
    standby = start_handoff((const char *const[]){"--shards", "all", NULL}, 4,
                            "the standby of all four shards consuming");
}

static void down(void)
{
    harness_stop_one(entry, "weft-entry");
    harness_stop_one(activity, "weft-activity");
    harness_stop_one(primary[0], "handoff of shards 0,1");
    harness_stop_one(primary[1], "handoff of shards 2,3");
    harness_stop_one(standby, "the standby handoff");
    unlink(trace_path);
    free(trace_path);
}

TestSuite(handoff_shards, .init = up, .fini = down, .timeout = 180);

/* Half chains of four, half fan-outs of one top, six leaves and a join: the leaves finish
 * together, so their handoffs compete. Returns the number of activities (handoffs due). */
static int submit_load(int ms, char uids[WORKFLOWS][WEFT_UUID_LEN + 1])
{
    int activities = 0;
    for (int i = 0; i < WORKFLOWS; i++) {
        char *def;
        if (i % 2 == 0) {
            def = weft_xasprintf("{\"name\":\"chain\",\"activities\":["
                                 "{\"name\":\"c1\",\"task\":\"sleep\",\"params\":{\"ms\":%d}},"
                                 "{\"name\":\"c2\",\"task\":\"sleep\",\"depends_on\":[\"c1\"],"
                                 "\"params\":{\"ms\":%d}},"
                                 "{\"name\":\"c3\",\"task\":\"sleep\",\"depends_on\":[\"c2\"],"
                                 "\"params\":{\"ms\":%d}},"
                                 "{\"name\":\"c4\",\"task\":\"sleep\",\"depends_on\":[\"c3\"],"
                                 "\"params\":{\"ms\":%d}}"
                                 "]}",
                                 ms, ms, ms, ms);
            activities += 4;
        } else {
            char leaves[1024] = "";
            size_t pos = 0;
            for (int l = 0; l < 6; l++)
                pos += (size_t)snprintf(leaves + pos, sizeof leaves - pos,
                                        "{\"name\":\"l%d\",\"task\":\"sleep\",\"depends_on\":"
                                        "[\"top\"],\"params\":{\"ms\":%d}},",
                                        l, ms);
            def = weft_xasprintf("{\"name\":\"fan\",\"activities\":["
                                 "{\"name\":\"top\",\"task\":\"noop\"},%s"
                                 "{\"name\":\"join\",\"task\":\"noop\",\"depends_on\":"
                                 "[\"l0\",\"l1\",\"l2\",\"l3\",\"l4\",\"l5\"]}]}",
                                 leaves);
            activities += 8;
        }
        harness_submit(def, NULL, uids[i]);
        free(def);
    }
    return activities;
}

/* Every workflow completed with every activity completed: nothing lost, nothing stuck. */
static void expect_all_completed(char uids[WORKFLOWS][WEFT_UUID_LEN + 1])
{
    for (int i = 0; i < WORKFLOWS; i++) {
        weft_workflow_info w;
        harness_wait(uids[i], 90, &w);
        cr_expect_eq(w.status, WEFT_WORKFLOW_COMPLETED, "workflow %s ended %s: %s", uids[i],
                     weft_workflow_status_name(w.status), w.error ? w.error : "");
        weft_workflow_info_finish(&w);
        json_t *acts = harness_activities(uids[i]);
        size_t k;
        json_t *a;
        json_array_foreach(acts, k, a)
        {
            const char *st = json_string_value(json_object_get(a, "status"));
            cr_expect_str_eq(st, "completed", "workflow %s: activity %s is %s", uids[i],
                             json_string_value(json_object_get(a, "name")), st);
        }
        json_decref(acts);
    }
}

static handoff_trace_report read_trace(int due)
{
    handoff_trace_report r;
    char err[256];
    cr_assert(handoff_trace_read(trace_path, &r, err, sizeof err), "%s", err);
    fprintf(stderr,
            "handoff_shards: handoffs %ld of %d workflows over shards 0..3: %ld %ld %ld %ld; "
            "overlaps %ld\n",
            r.handoffs, (int)r.workflows, r.per_shard[0], r.per_shard[1], r.per_shard[2],
            r.per_shard[3], r.overlaps);
    cr_expect_geq(r.handoffs, due, "every activity was handed off");
    cr_expect_eq(r.workflows, WORKFLOWS);
    cr_expect_eq(r.overlaps, 0, "%s", r.first_overlap);
    cr_expect_geq(r.shards_used, 2, "the workflows spread over the shards");
    for (int k = 4; k < WEFT_HANDOFF_SHARDS_MAX; k++)
        cr_expect_eq(r.per_shard[k], 0, "a handoff of shard %d, with 4 shards", k);
    return r;
}

Test(handoff_shards, four_shards_spread_the_workflows_and_keep_each_ones_handoffs_apart)
{
    char uids[WORKFLOWS][WEFT_UUID_LEN + 1];
    int due = submit_load(5, uids);
    expect_all_completed(uids);
    handoff_trace_report r = read_trace(due);
    long p0 = handoff_trace_of_pid(&r, primary[0]), p1 = handoff_trace_of_pid(&r, primary[1]);
    fprintf(stderr,
            "handoff_shards: handoffs by process: shards 0,1 %ld, shards 2,3 %ld, standby %ld\n",
            p0, p1, handoff_trace_of_pid(&r, standby));
    cr_expect_eq(p0, r.per_shard[0] + r.per_shard[1], "shards 0 and 1 ran on their process");
    cr_expect_eq(p1, r.per_shard[2] + r.per_shard[3], "shards 2 and 3 ran on their process");
    cr_expect_eq(handoff_trace_of_pid(&r, standby), 0, "the standby stayed idle");
    cr_expect(harness_alive(standby), "the standby runs");
}

Test(handoff_shards, a_killed_shard_consumer_is_replaced_by_its_standby_with_nothing_lost)
{
    char uids[WORKFLOWS][WEFT_UUID_LEN + 1];
    int due = submit_load(150, uids);
    /* mid-run: a quarter of the handoffs done */
    double end = weft_clock_s() + 60;
    while (harness_count_lines(trace_path, " ") < due / 4) {
        cr_assert_lt(weft_clock_s(), end, "the load made no progress");
        usleep(20 * 1000);
    }
    kill(primary[0], SIGKILL);
    waitpid(primary[0], NULL, 0);
    long before = harness_count_lines(trace_path, " ");
    primary[0] = 0;
    cr_expect_lt(before, due * 3 / 4, "killed mid-run");
    expect_all_completed(uids);
    handoff_trace_report r = read_trace(due);
    long taken = handoff_trace_of_pid(&r, standby);
    fprintf(stderr,
            "handoff_shards: kill -9 of shards 0,1 after %ld handoffs; the standby then ran %ld\n",
            before, taken);
    if (r.per_shard[0] + r.per_shard[1] > 0)
        cr_expect_gt(taken, 0, "the standby took over shards 0 and 1");
    cr_expect(harness_alive(primary[1]), "the handoff of shards 2,3 runs");
    cr_expect(harness_alive(standby), "the standby runs");
}

/* Priority under a backlog (DESIGN §10): with 200 priority-0 attempts queued before a worker
 * of 2 slots, 20 priority-9 attempts submitted after them all start before the priority-0
 * ones still queued, from the start times Postgres records; a priority-9 retry that waits in
 * a delay queue keeps its priority when it comes back. Each slot holds one message at a time
 * (prefetch 1 per slot): a slot given more would have taken them in arrival order. */
#include "alloc.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKLOG 200
#define URGENT 20
#define SLOTS 2
/* each backlog attempt sleeps this long */
#define TASK_MS 30

static harness_procs procs;

static void up(void)
{
    unsetenv("WEFT_TASKS_FILE");
    harness_start(&procs, SLOTS);
}

static void down(void)
{
    harness_stop(&procs);
}

TestSuite(priority, .init = up, .fini = down, .timeout = 180);

/* A workflow of n independent activities of task with params and priority (new string). */
static char *many(const char *name, int n, const char *task, const char *params, int priority,
                  const char *more)
{
    size_t cap = (size_t)n * (strlen(params) + strlen(more) + 96) + 64, len = 0;
    char *def = weft_xmalloc(cap);
    len += (size_t)snprintf(def, cap, "{\"name\": \"%s\", \"activities\": [", name);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(def + len, cap - len,
                                "%s{\"name\": \"%s%d\", \"task\": \"%s\", \"params\": %s,"
                                " \"priority\": %d%s}",
                                i ? ", " : "", name, i, task, params, priority, more);
    snprintf(def + len, cap - len, "]}");
    return def;
}

static long sql_long(const char *sql, int n, const char *const *p)
{
    char *v = harness_sql_value(sql, n, p);
    cr_assert(v, "%s", sql);
    long x = atol(v);
    free(v);
    return x;
}

/* Waits until at least n activities of workflow uid have left `queued` (asserts). */
static void wait_started(const char *uid, long n)
{
    const char *p[] = {uid};
    for (int i = 0; i < 300; i++) {
        if (sql_long("SELECT count(*) FROM weft_activity WHERE workflow_uid = $1"
                     " AND status <> 'queued'",
                     1, p) >= n)
            return;
        usleep(20 * 1000);
    }
    cr_assert(false, "the backlog of %s did not start", uid);
}

/* How the starts of the backlog (workflow low) fall around the starts of attempt `attempt`
 * of the urgent ones (workflow high). */
typedef struct {
    long before, during, after; /* backlog attempts started before the first urgent one,
                                   between the first and the last, after the last */
    long urgent;                /* urgent attempts counted */
    double span_ms;             /* from the first urgent start to the last */
    double max_wait_ms;         /* attempt > 1: the longest from an urgent attempt's failure to the
                                   start of its retry */
} start_order;

static start_order measure(const char *low, const char *high, int attempt)
{
    char att[8];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {low, high, att};
    char *v = harness_sql_value(
        "WITH h AS (SELECT min(t.started_at) AS first, max(t.started_at) AS last, count(*) AS n"
        "  FROM weft_attempt t JOIN weft_activity a ON a.uid = t.activity_uid"
        "  WHERE a.workflow_uid = $2 AND t.attempt = $3::int)"
        ", r AS (SELECT max(extract(epoch FROM t2.started_at - t1.finished_at)) * 1000 AS wait"
        "  FROM weft_attempt t2 JOIN weft_activity a ON a.uid = t2.activity_uid"
        "  JOIN weft_attempt t1 ON t1.activity_uid = t2.activity_uid AND t1.attempt = t2.attempt - "
        "1"
        "  WHERE a.workflow_uid = $2 AND t2.attempt = $3::int)"
        " SELECT format('%s %s %s %s %s %s',"
        "  count(*) FILTER (WHERE t.started_at < h.first),"
        "  count(*) FILTER (WHERE t.started_at >= h.first AND t.started_at <= h.last),"
        "  count(*) FILTER (WHERE t.started_at > h.last), h.n,"
        "  extract(epoch FROM h.last - h.first) * 1000, coalesce(r.wait, 0))"
        " FROM h, r, weft_attempt t JOIN weft_activity a ON a.uid = t.activity_uid"
        " WHERE a.workflow_uid = $1 GROUP BY h.n, h.first, h.last, r.wait",
        3, p);
    cr_assert(v);
    start_order o;
    cr_assert_eq(sscanf(v, "%ld %ld %ld %ld %lf %lf", &o.before, &o.during, &o.after, &o.urgent,
                        &o.span_ms, &o.max_wait_ms),
                 6, "%s", v);
    free(v);
    return o;
}

/* Submits the backlog, lets it start, then the urgent workflow; waits for both. */
static void backlog_then_urgent(const char *urgent_def, char low[WEFT_UUID_LEN + 1],
                                char high[WEFT_UUID_LEN + 1])
{
    char params[32];
    snprintf(params, sizeof params, "{\"ms\": %d}", TASK_MS);
    char *def = many("low", BACKLOG, "sleep", params, 0, "");
    harness_submit(def, NULL, low);
    free(def);
    /* the backlog is flowing: its messages are all in the queue, the slots busy with them */
    wait_started(low, 10);
    harness_submit(urgent_def, NULL, high);
    weft_workflow_info w;
    harness_wait(high, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "%s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    harness_wait(low, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "%s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
}

/* Every attempt of both ran once, and much of the backlog was still queued when the last
 * urgent attempt started: without priority the urgent ones would have waited for it. */
static void expect_backlog_left(const start_order *o, const char *what)
{
    fprintf(stderr,
            "%s: backlog starts before the first urgent start %ld, among the urgent ones %ld,"
            " after the last %ld; the %ld urgent starts spanned %.0f ms\n",
            what, o->before, o->during, o->after, o->urgent, o->span_ms);
    cr_assert_eq(o->urgent, URGENT, "%s: every urgent attempt ran", what);
    cr_assert_eq(o->before + o->during + o->after, BACKLOG, "%s: every backlog attempt ran once",
                 what);
    cr_assert_geq(o->after, BACKLOG / 2, "%s: the backlog was real (%ld started after)", what,
                  o->after);
}

Test(priority, twenty_priority_9_attempts_start_before_the_remaining_priority_0_backlog)
{
    char low[WEFT_UUID_LEN + 1], high[WEFT_UUID_LEN + 1];
    char *def = many("high", URGENT, "sleep", "{\"ms\": 30}", 9, "");
    backlog_then_urgent(def, low, high);
    free(def);
    start_order o = measure(low, high, 1);
    expect_backlog_left(&o, "priority 9 over priority 0");
    /* the urgent starts come in one run: at most one backlog start per slot slips among them
     * (a slot that took its message just before they arrived) */
    cr_assert_leq(o.during, SLOTS,
                  "the urgent attempts went ahead of the queued backlog (%ld backlog starts"
                  " among theirs)",
                  o.during);
}

Test(priority, a_retry_back_from_the_delay_queue_keeps_its_priority)
{
    /* each urgent attempt 1 fails at once; attempt 2 waits 100 ms (and up to 20% jitter,
     * rounded up to the 200 ms delay bucket) in a delay queue, and comes back to a backlog it
     * must still overtake */
    char low[WEFT_UUID_LEN + 1], high[WEFT_UUID_LEN + 1];
    char *def = many("retry", URGENT, "fail", "{\"code\": \"TRANSIENT\", \"times\": 1}", 9,
                     ", \"retry\": {\"max_retries\": 1, \"initial_delay_ms\": 100}");
    backlog_then_urgent(def, low, high);
    free(def);
    start_order o = measure(low, high, 2);
    expect_backlog_left(&o, "priority-9 retries over priority 0");
    /* the retries come back at different times, so backlog starts may fall between them; but
     * a retry behind the backlog would have waited at least for the backlog attempts that
     * started after the last retry (each TASK_MS on SLOTS slots); it waited its delay and a
     * slot's current task */
    double behind_ms = (double)o.after * TASK_MS / SLOTS;
    fprintf(stderr, "longest retry wait %.0f ms; behind the backlog: %.0f ms or more\n",
            o.max_wait_ms, behind_ms);
    cr_assert_lt(o.max_wait_ms, behind_ms / 2,
                 "a retry waited %.0f ms from its failure to its start; behind the backlog it"
                 " would have waited %.0f ms or more",
                 o.max_wait_ms, behind_ms);
}

/* Limits across all workers (DESIGN §10): `weft limit set TASK N` and `--rate`, and an
 * activity's concurrency key, enforced in Redis for three workers of four slots each. The
 * recorded start and finish times of the attempts say what ran at once; waiting for a limit
 * counts no attempt; `weft status` says what an attempt waits for; a worker killed while it
 * holds places gives them up within its lease. The limits are set while the workers run: they
 * see them without a restart. */
#include "alloc.h"
#include "clock.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 3
/* the lease of a running attempt, and so of its places: the shortest weft takes */
#define LEASE_S "3"

static pid_t entry, handoff, workers[WORKERS];
static char dir[] = "/tmp/weft-glimits-XXXXXX";

/* A oneshot task that sleeps, then answers for its attempt. */
#define SLEEPER(s)                                                                             \
    "read -r request\nsleep " s "\n"                                                           \
    "printf '{\"id\":\"%s/%s\",\"status\":\"success\",\"data\":{}}\\n' \"$WEFT_ACTIVITY_UID\" " \
    "\"$WEFT_ATTEMPT\"\n"

static const char *const limited[] = {"sleepy_g", "sleepy_k", "quick_r", "sleepy_x", "cli_t"};

static int weft(const char *args, char **out)
{
    char *cmd = weft_xasprintf("'%s' %s 2>&1", getenv("WEFT_BIN_WEFT"), args);
    int rc = harness_run(cmd, out);
    free(cmd);
    return rc;
}

static void clear_limits(void)
{
    for (size_t i = 0; i < sizeof limited / sizeof limited[0]; i++) {
        char *args = weft_xasprintf("limit clear %s", limited[i]);
        weft(args, NULL);
        free(args);
    }
}

static pid_t start_worker(void)
{
    const char *args[] = {"--concurrency", "4", NULL};
    return harness_spawn("weft-activity", args);
}

static void up(void)
{
    cr_assert(mkdtemp(dir));
    harness_write_file(dir, "slow.sh", SLEEPER("0.3"));
    harness_write_file(dir, "slower.sh", SLEEPER("1"));
    harness_write_file(dir, "quick.sh", SLEEPER("0"));
    harness_write_file(dir, "tasks.json",
                       "{\"tasks\": {"
                       "\"sleepy_g\": {\"exec\": [\"sh\", \"slow.sh\"], \"mode\": \"oneshot\"},"
                       "\"sleepy_k\": {\"exec\": [\"sh\", \"slow.sh\"], \"mode\": \"oneshot\"},"
                       "\"sleepy_x\": {\"exec\": [\"sh\", \"slower.sh\"], \"mode\": \"oneshot\"},"
                       "\"quick_r\": {\"exec\": [\"sh\", \"quick.sh\"], \"mode\": \"oneshot\"}}}");
    char path[300];
    snprintf(path, sizeof path, "%s/tasks.json", dir);
    setenv("WEFT_TASKS_FILE", path, 1);
    setenv("WEFT_LEASE_S", LEASE_S, 1);
    clear_limits();
    entry = harness_spawn("weft-entry", NULL);
    handoff = harness_spawn("weft-handoff", NULL);
    for (int i = 0; i < WORKERS; i++)
        workers[i] = start_worker();
    usleep(300 * 1000);
    cr_assert(harness_alive(entry) && harness_alive(handoff));
    for (int i = 0; i < WORKERS; i++)
        cr_assert(harness_alive(workers[i]), "worker %d exited at start", i);
}

static void down(void)
{
    clear_limits();
    harness_procs p = {.entry = entry, .handoff = handoff, .activity = workers[0]};
    for (int i = 1; i < WORKERS; i++) {
        kill(workers[i], SIGTERM);
        waitpid(workers[i], NULL, 0);
    }
    harness_stop(&p);
    char *cmd = weft_xasprintf("rm -rf '%s'", dir);
    harness_run(cmd, NULL);
    free(cmd);
}

TestSuite(global_limits, .init = up, .fini = down, .timeout = 180);

/* The most attempts of workflow uid that ran at one instant, from their recorded times, each
 * trimmed by 60 ms at both ends (a start is recorded at the claim, a moment before the limit
 * lets it in; a finish when the result is stored, a moment after the place was given back);
 * per_customer: counting only attempts of one params.customer. */
static long max_overlap(const char *uid, bool per_customer)
{
    char *sql = weft_xasprintf(
        "WITH t AS (SELECT x.started_at + interval '60 ms' AS s,"
        " x.finished_at - interval '60 ms' AS f, a.params->>'customer' AS k"
        " FROM weft_attempt x JOIN weft_activity a ON a.uid = x.activity_uid"
        " WHERE a.workflow_uid = $1 AND x.status = 'completed')"
        " SELECT coalesce(max((SELECT count(*) FROM t u WHERE u.s <= t.s AND u.f > t.s%s)), 0)"
        " FROM t",
        per_customer ? " AND u.k IS NOT DISTINCT FROM t.k" : "");
    long n = harness_sql_long(sql, uid);
    free(sql);
    return n;
}

/* n activities of task, each with extra members fields(i) (JSON text starting with a comma,
 * or ""), as one workflow. */
static void submit_many(const char *task, int n, const char *(*fields)(int, char *, size_t),
                        char uid[WEFT_UUID_LEN + 1])
{
    size_t cap = 256 + (size_t)n * 200;
    char *def = weft_xcalloc(1, cap);
    snprintf(def, cap, "{\"name\": \"limited_%s\", \"activities\": [", task);
    for (int i = 0; i < n; i++) {
        char extra[160] = "";
        if (fields)
            fields(i, extra, sizeof extra);
        snprintf(def + strlen(def), cap - strlen(def),
                 "{\"name\": \"a%d\", \"task\": \"%s\", \"retry\": {\"initial_delay_ms\": 100}%s}%s",
                 i, task, extra, i < n - 1 ? "," : "]}");
    }
    harness_submit(def, NULL, uid);
    free(def);
}

/* Polls `weft status uid` until a line holds needle (asserts within timeout_s). */
static void expect_status_line(const char *uid, const char *needle, double timeout_s)
{
    char *args = weft_xasprintf("status %s", uid);
    double end = weft_clock_s() + timeout_s;
    char *out = NULL;
    for (;;) {
        free(out);
        out = NULL;
        int rc = weft(args, &out);
        /* the entry message may not have been taken yet: the workflow is not there */
        bool absent = rc != 0 && out && strstr(out, "unknown workflow");
        cr_assert(rc == 0 || absent, "weft status exited %d: %s", rc, out ? out : "");
        if (rc == 0 && strstr(out, needle))
            break;
        cr_assert_lt(weft_clock_s(), end, "weft status never showed '%s'; last:\n%s", needle,
                     out);
        usleep(50 * 1000);
    }
    free(out);
    free(args);
}

static void expect_completed_once_each(const char *uid, int n, double timeout_s)
{
    weft_workflow_info w;
    harness_wait(uid, timeout_s, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "%s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    cr_assert_eq(harness_sql_long("SELECT count(*) FROM weft_attempt t JOIN weft_activity a"
                          " ON a.uid = t.activity_uid WHERE a.workflow_uid = $1",
                          uid),
                 n, "one attempt each: waiting for a limit is no attempt");
    cr_assert_eq(harness_sql_long("SELECT max(attempt) FROM weft_activity WHERE workflow_uid = $1", uid),
                 1);
}

static void set_limit(const char *args)
{
    char *out = NULL;
    char *cmd = weft_xasprintf("limit set %s", args);
    cr_assert_eq(weft(cmd, &out), 0, "weft %s: %s", cmd, out);
    free(out);
    free(cmd);
    /* the workers read the limits every second: a change reaches them without a restart */
    usleep(1500 * 1000);
}

/* Sets the limit (NULL: none), submits n activities of task, expects `weft status` to show
 * one waiting as `waiting` says, then each to complete in one attempt. */
static void run_limited(const char *limit, const char *task, int n,
                        const char *(*fields)(int, char *, size_t), const char *waiting,
                        char uid[WEFT_UUID_LEN + 1])
{
    if (limit)
        set_limit(limit);
    submit_many(task, n, fields, uid);
    expect_status_line(uid, waiting, 15);
    expect_completed_once_each(uid, n, 90);
}

Test(global_limits, at_most_two_run_at_once_across_three_workers_of_four_slots)
{
    char uid[WEFT_UUID_LEN + 1];
    run_limited("sleepy_g 2", "sleepy_g", 20, NULL, "waiting: global limit sleepy_g 2/2", uid);
    long most = max_overlap(uid, false);
    cr_assert_eq(most, 2, "at most 2 at once, and the limit's 2 used (%ld)", most);
    fprintf(stderr, "global limit 2: at most %ld attempts overlapped; span %ld ms\n", most,
            harness_sql_long("SELECT (extract(epoch FROM max(t.finished_at) - min(t.started_at)) * 1000)"
                     "::bigint FROM weft_attempt t JOIN weft_activity a"
                     " ON a.uid = t.activity_uid WHERE a.workflow_uid = $1",
                     uid));
}

static const char *customer(int i, char *out, size_t n)
{
    snprintf(out, n,
             ", \"params\": {\"customer\": \"c%d\"}, \"concurrency\": {\"key\": \"customer\","
             " \"limit\": 1}",
             i % 3);
    return out;
}

Test(global_limits, a_concurrency_key_runs_one_per_customer_and_customers_side_by_side)
{
    char uid[WEFT_UUID_LEN + 1];
    run_limited(NULL, "sleepy_k", 15, customer, "waiting: concurrency key customer=c", uid);
    long per = max_overlap(uid, true), all = max_overlap(uid, false);
    cr_assert_eq(per, 1, "no two attempts of one customer overlapped (%ld)", per);
    cr_assert_geq(all, 2, "different customers ran side by side (%ld)", all);
    fprintf(stderr, "concurrency key: at most %ld per customer, %ld in all at once\n", per, all);
}

Test(global_limits, an_input_without_the_concurrency_key_fails_permanently_naming_it)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit_one("sleepy_k", ", \"concurrency\": {\"key\": \"customer\", \"limit\": 1}", 3,
                       uid);
    harness_expect_failed(uid, "a", 1, 30,
                          "activity 'a': concurrency key 'customer' is not in its merged input",
                          NULL);
}

Test(global_limits, a_rate_of_10_per_second_spaces_30_starts_over_3_seconds)
{
    char uid[WEFT_UUID_LEN + 1];
    run_limited("quick_r --rate 10/s", "quick_r", 30, NULL, "waiting: rate limit quick_r 10/s",
                uid);
    long span = harness_sql_long("SELECT (extract(epoch FROM max(t.started_at) - min(t.started_at))"
                         " * 1000)::bigint FROM weft_attempt t JOIN weft_activity a"
                         " ON a.uid = t.activity_uid WHERE a.workflow_uid = $1",
                         uid);
    fprintf(stderr, "rate 10/s: 30 starts spanned %ld ms\n", span);
    cr_assert_geq(span, 2900, "30 starts at 10/s span >= 2.9 s, got %ld ms", span);
    cr_assert_lt(span, 15000, "and the waiting did not drag on: %ld ms", span);
}

/* The pid of a worker running an attempt of workflow uid now (0: none yet). */
static pid_t worker_running(const char *uid)
{
    for (int i = 0; i < WORKERS; i++) {
        char like[32];
        snprintf(like, sizeof like, "%%:%d:%%", (int)workers[i]);
        const char *p[] = {uid, like};
        char *v = harness_sql_value("SELECT count(*) FROM weft_activity WHERE workflow_uid = $1"
                                    " AND status = 'running' AND worker LIKE $2",
                                    2, p);
        long n = v ? atol(v) : 0;
        free(v);
        if (n > 0)
            return workers[i];
    }
    return 0;
}

Test(global_limits, a_worker_killed_holding_places_frees_them_within_its_lease)
{
    set_limit("sleepy_x 2");
    char uid[WEFT_UUID_LEN + 1];
    submit_many("sleepy_x", 8, NULL, uid);
    pid_t victim = 0;
    double end = weft_clock_s() + 20;
    while (!(victim = worker_running(uid))) {
        cr_assert_lt(weft_clock_s(), end, "no attempt started");
        usleep(20 * 1000);
    }
    cr_assert_eq(kill(victim, SIGKILL), 0);
    waitpid(victim, NULL, 0);
    double killed = weft_clock_s();
    for (int i = 0; i < WORKERS; i++)
        if (workers[i] == victim)
            workers[i] = start_worker(); /* the next tests get their three again */

    weft_workflow_info w;
    harness_wait(uid, 120, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "%s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    cr_assert_leq(max_overlap(uid, false), 2, "the limit held through the kill");
    /* the others took the places back: attempts started after the kill, the first within the
     * lease (3 s) plus a turn of the waiting attempts (0.5 s) and some slack */
    char since[64];
    snprintf(since, sizeof since, "%.3f", weft_clock_s() - killed);
    const char *p[] = {uid, since};
    char *first = harness_sql_value(
        "SELECT (extract(epoch FROM min(t.started_at) - (now() - make_interval(secs => $2::float8)))"
        " * 1000)::bigint FROM weft_attempt t JOIN weft_activity a ON a.uid = t.activity_uid"
        " WHERE a.workflow_uid = $1 AND t.status = 'completed'"
        " AND t.started_at > now() - make_interval(secs => $2::float8)",
        2, p);
    cr_assert(first, "attempts completed after the kill");
    long after_ms = atol(first);
    free(first);
    fprintf(stderr, "kill -9: the first attempt after it started %ld ms later\n", after_ms);
    cr_assert_lt(after_ms, 5500, "places back within the lease: %ld ms", after_ms);
}

Test(global_limits, weft_limit_sets_lists_and_clears_and_refuses_bad_input)
{
    char *out = NULL;
    cr_assert_eq(weft("limit set cli_t 3", &out), 0, "%s", out);
    free(out);
    cr_assert_eq(weft("limit set cli_t --rate 600/m", &out), 0, "%s", out);
    free(out);
    cr_assert_eq(weft("limit list --json", &out), 0, "%s", out);
    json_t *list = json_loads(out, 0, NULL);
    cr_assert(json_is_array(list), "%s", out);
    json_t *row = NULL, *item;
    size_t i;
    json_array_foreach(list, i, item)
    if (strcmp(json_string_value(json_object_get(item, "task")), "cli_t") == 0) row = item;
    cr_assert(row, "cli_t listed: %s", out);
    cr_assert_eq(json_integer_value(json_object_get(row, "concurrency")), 3,
                 "the rate kept the concurrency: %s", out);
    cr_assert_str_eq(json_string_value(json_object_get(row, "rate")), "600/m");
    cr_assert_float_eq(json_number_value(json_object_get(row, "rate_per_s")), 10.0, 1e-9);
    json_decref(list);
    free(out);
    cr_assert_eq(weft("limit list", &out), 0, "%s", out);
    cr_assert(strstr(out, "cli_t") && strstr(out, "600/m"), "%s", out);
    free(out);

    static const struct {
        const char *args, *needle;
    } bad[] = {
        {"limit set cli_t 2 --frobnicate", "unknown option '--frobnicate'"},
        {"limit set cli_t two", "N must be a whole number from 1 to 100000, got 'two'"},
        {"limit set cli_t 0", "N must be a whole number from 1 to 100000, got '0'"},
        {"limit set cli_t --rate 10/d", "the unit must be s, m or h"},
        {"limit set cli_t --rate fast", "must be COUNT/UNIT"},
        {"limit set cli_t", "needs N (running attempts) or --rate COUNT/UNIT"},
        {"limit set 'no such' 2", "'no such' is no task type name"},
        {"limit set cli_t 2 3", "unexpected argument '3'"},
        {"limit clear nobody_limits_me", "task 'nobody_limits_me' has no global limit"},
        {"limit frob", "unknown command 'limit frob': set, list or clear"},
        {"limit", "'limit' needs a command"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cr_expect_eq(weft(bad[k].args, &out), 3, "weft %s: exit 3", bad[k].args);
        cr_expect(strstr(out, bad[k].needle), "weft %s: '%s' lacks '%s'", bad[k].args, out,
                  bad[k].needle);
        free(out);
    }
    cr_assert_eq(weft("limit clear cli_t", &out), 0, "%s", out);
    free(out);
    cr_assert_eq(weft("limit list", &out), 0, "%s", out);
    cr_assert_null(strstr(out, "cli_t"), "cleared: %s", out);
    free(out);
}

/* The claim and the handoff run on plans that probe keys, never scan weft_activity or
 * weft_workflow: on a fresh database, and after a workflow of 10,000 activities, in a
 * session whose plan caches were warmed while the tables were tiny (where a sequential scan
 * is the right plan, and a plan cached then would still be one).
 *
 * The test works in a schema of its own (search_path through PGOPTIONS), which
 * weft_store_connect migrates, with autovacuum off for its tables so that statistics change
 * only when the test runs ANALYZE or the store refreshes them. Its own session prepares
 * weft's statements from the same embedded text the store uses. The claim is checked with
 * EXPLAIN (FORMAT JSON) EXECUTE, which shows the plan the session would run, cached or not.
 * The statements inside weft_handoff cannot be EXPLAINed from outside, so the session logs
 * every plan it builds (debug_print_plan, received as LOG messages): once the tables have
 * grown, the handoff must run on plans built since. No plan may hold a sequential scan of a
 * weft table nor read weft_activity's primary key by workflow_uid alone (the whole
 * workflow, for one activity's neighbours). The statistics include a few hundred small
 * workflows, like a real database's: with those, a join or `idx = ANY (...)` over the key
 * is planned as a read of the whole workflow. */
#include "definition.h"
#include "store.h"
#include "weft_sql.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIG 10000
#define SMALL 8
#define OTHERS 500

static char schema[64];

/* Plans logged by the server while capturing (debug_print_plan's node dumps). */
typedef struct {
    bool on;
    char **dumps;
    size_t n, cap;
} plan_log;

static void on_notice(void *arg, const PGresult *res)
{
    plan_log *log = arg;
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    if (!log->on || !msg || strcmp(msg, "plan:") != 0 || !detail)
        return;
    if (log->n == log->cap) {
        log->cap = log->cap ? 2 * log->cap : 64;
        log->dumps = realloc(log->dumps, log->cap * sizeof *log->dumps);
        cr_assert(log->dumps);
    }
    log->dumps[log->n++] = strdup(detail);
}

static void plan_log_clear(plan_log *log)
{
    for (size_t i = 0; i < log->n; i++)
        free(log->dumps[i]);
    log->n = 0;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType t = PQresultStatus(r);
    cr_assert(t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

/* Runs weft statement `which`, prepared in this session; the result is the caller's. */
static PGresult *run(PGconn *c, weft_sql_id which, const char *const *params)
{
    const weft_sql_statement *q = &weft_sql_statements[which];
    PGresult *r = PQexecPrepared(c, q->name, q->nparams, params, NULL, NULL, 0);
    ExecStatusType t = PQresultStatus(r);
    cr_assert(t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK, "statement '%s': %s", q->name,
              PQerrorMessage(c));
    return r;
}

static PGconn *session(plan_log *log)
{
    PGconn *c = PQconnectdb(getenv("WEFT_DATABASE_URL"));
    cr_assert(PQstatus(c) == CONNECTION_OK, "postgres: %s", PQerrorMessage(c));
    PQsetNoticeReceiver(c, on_notice, log);
    PGresult *r = PQexec(c, "SELECT current_schema()");
    cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), schema) == 0,
              "the test's search_path did not take: it would touch weft's own tables");
    PQclear(r);
    const weft_sql_id used[] = {WEFT_SQL_CLAIM, WEFT_SQL_COMPLETE,       WEFT_SQL_HANDOFF,
                                WEFT_SQL_SWEEP, WEFT_SQL_SWEEP_HANDOFFS, WEFT_SQL_SWEEP_LEASES};
    for (size_t i = 0; i < sizeof used / sizeof used[0]; i++) {
        const weft_sql_statement *q = &weft_sql_statements[used[i]];
        PGresult *p = PQprepare(c, q->name, q->text, q->nparams, NULL);
        cr_assert(PQresultStatus(p) == PGRES_COMMAND_OK, "prepare %s: %s", q->name,
                  PQerrorMessage(c));
        PQclear(p);
    }
    exec_ok(c, "SET client_min_messages = log");
    exec_ok(c, "SET debug_print_plan = on");
    return c;
}

static void drop_schema(void)
{
    if (!schema[0])
        return;
    unsetenv("PGOPTIONS");
    PGconn *c = PQconnectdb(getenv("WEFT_DATABASE_URL"));
    char sql[128];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
    PQclear(PQexec(c, sql));
    PQfinish(c);
}

/* A fresh schema for the test, migrated by the store, whose connection is returned. */
static weft_store *fresh_store(void)
{
    snprintf(schema, sizeof schema, "weft_test_plans_%ld", (long)getpid());
    PGconn *c = PQconnectdb(getenv("WEFT_DATABASE_URL"));
    cr_assert(PQstatus(c) == CONNECTION_OK, "postgres: %s", PQerrorMessage(c));
    char sql[256];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema, schema);
    exec_ok(c, sql);
    PQfinish(c);
    char opts[128];
    snprintf(opts, sizeof opts, "-c search_path=%s", schema);
    setenv("PGOPTIONS", opts, 1);
    weft_store *s = NULL;
    weft_err err = {0};
    cr_assert(weft_store_connect(getenv("WEFT_DATABASE_URL"), &s, &err) == WEFT_OK, "%s", err.msg);
    return s;
}

/* Creates a workflow: a chain of n activities. */
static void create(weft_store *s, size_t n, char uid[WEFT_UUID_LEN + 1], weft_dispatch_list *ready)
{
    json_t *acts = json_array();
    for (size_t i = 0; i < n; i++) {
        char name[32], dep[32];
        snprintf(name, sizeof name, "a%zu", i);
        json_t *a = json_pack("{s:s, s:s}", "name", name, "task", "noop");
        json_t *deps = json_array();
        if (i > 0) {
            snprintf(dep, sizeof dep, "a%zu", i - 1);
            json_array_append_new(deps, json_string(dep));
        }
        json_object_set_new(a, "depends_on", deps);
        json_array_append_new(acts, a);
    }
    json_t *doc = json_pack("{s:s, s:o}", "name", "plans", "activities", acts);
    weft_limits limits = WEFT_LIMITS_DEFAULT;
    limits.max_activities = 2 * BIG;
    weft_definition *def = NULL;
    weft_err err = {0};
    cr_assert(weft_definition_parse(doc, &limits, NULL, &def, &err) == WEFT_OK, "%s", err.msg);
    weft_uuid_new(uid);
    json_t *inputs = json_object();
    bool existed;
    cr_assert(weft_store_create_workflow(s, uid, def, doc, inputs, ready, &existed, &err) ==
                  WEFT_OK,
              "%s", err.msg);
    json_decref(inputs);
    json_decref(doc);
    weft_definition_destroy(def);
}

/* The uid of activity idx of workflow wf. */
static void activity_uid(PGconn *c, const char *wf, int idx, char uid[WEFT_UUID_LEN + 1])
{
    char i[16];
    snprintf(i, sizeof i, "%d", idx);
    const char *p[] = {wf, i};
    PGresult *r =
        PQexecParams(c, "SELECT uid FROM weft_activity WHERE workflow_uid = $1 AND idx = $2", 2,
                     NULL, p, NULL, NULL, 0);
    cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s", PQerrorMessage(c));
    snprintf(uid, WEFT_UUID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
}

/* Runs attempt 1 of an activity to completion and hands it off, in this session. */
static void run_activity(PGconn *c, const char *wf, const char *uid)
{
    const char *claim[] = {uid, "1", "test_plans", wf, "30", NULL};
    PGresult *r = run(c, WEFT_SQL_CLAIM, claim);
    cr_assert(PQntuples(r) == 1, "claim of %s found nothing to claim", uid);
    PQclear(r);
    const char *complete[] = {uid, "1", "{}", "{}"};
    PQclear(run(c, WEFT_SQL_COMPLETE, complete));
    const char *handoff[] = {wf, uid, "1"};
    PQclear(run(c, WEFT_SQL_HANDOFF, handoff));
}

/* Appends to why a line for every scan in plan (EXPLAIN JSON) that reads more than the keys
 * it is after: a sequential scan of a weft table, a scan of weft_activity's primary key
 * by workflow_uid alone, which reads the whole workflow, or an index read with no index
 * condition at all (a partial index whose predicate the query implies, read end to end). */
static void wide_scans(json_t *plan, char *why, size_t cap)
{
    const char *type = json_string_value(json_object_get(plan, "Node Type"));
    const char *rel = json_string_value(json_object_get(plan, "Relation Name"));
    const char *index = json_string_value(json_object_get(plan, "Index Name"));
    const char *cond = json_string_value(json_object_get(plan, "Index Cond"));
    size_t len = strlen(why);
    if (type && rel && strcmp(type, "Seq Scan") == 0 && strncmp(rel, "weft_", 5) == 0)
        snprintf(why + len, cap - len, " Seq Scan on %s;", rel);
    else if (index && strcmp(index, "weft_activity_pkey") == 0 && cond && !strstr(cond, "idx"))
        snprintf(why + len, cap - len, " the whole workflow read by %s;", cond);
    else if (index && rel && strncmp(rel, "weft_", 5) == 0 && !cond)
        snprintf(why + len, cap - len, " all of index %s read, filtered;", index);
    json_t *kids = json_object_get(plan, "Plans");
    for (size_t i = 0; i < json_array_size(kids); i++)
        wide_scans(json_array_get(kids, i), why, cap);
}

/* Whether a plan dump (debug_print_plan) scans index `pkey` (":indexid N ") with a single
 * index qual: weft_activity's primary key by workflow_uid alone. */
static bool dump_reads_whole_workflow(const char *dump, const char *pkey)
{
    for (const char *p = strstr(dump, pkey); p; p = strstr(p + 1, pkey)) {
        const char *quals = strstr(p, ":indexqual (");
        const char *end = quals ? strstr(quals, ":indexqualorig") : NULL;
        if (!end)
            continue;
        int n = 0;
        for (const char *q = quals; q < end; q++)
            n += strncmp(q, "{OPEXPR", 7) == 0 || strncmp(q, "{SCALARARRAYOPEXPR", 18) == 0;
        if (n == 1)
            return true;
    }
    return false;
}

/* The oid of relation name in this session's schema, as a dump token ("<key> N "). */
static void oid_token(PGconn *c, const char *name, const char *key, char *out, size_t cap)
{
    const char *p[] = {name};
    PGresult *r = PQexecParams(c, "SELECT $1::regclass::oid", 1, NULL, p, NULL, NULL, 0);
    cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
    snprintf(out, cap, "%s %s ", key, PQgetvalue(r, 0, 0));
    PQclear(r);
}

/* EXPLAINs sql (an EXECUTE of a prepared statement) and writes what wide_scans finds in its
 * plan to why ("" when nothing). */
static void explain_wide_scans(PGconn *c, const char *sql, char *why, size_t cap)
{
    char explain[320];
    snprintf(explain, sizeof explain, "EXPLAIN (FORMAT JSON) %s", sql);
    PGresult *r = PQexec(c, explain);
    cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", explain, PQerrorMessage(c));
    json_t *doc = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    cr_assert(doc, "EXPLAIN returned no JSON");
    why[0] = '\0';
    wide_scans(json_object_get(json_array_get(doc, 0), "Plan"), why, cap);
    json_decref(doc);
}

/* EXPLAINs the claim of attempt 1 of uid in workflow wf as this session would run it. */
static void expect_claim_probes_keys(PGconn *c, const char *wf, const char *uid, const char *when)
{
    char sql[256], why[512];
    snprintf(sql, sizeof sql, "EXECUTE %s('%s', 1, 'test_plans', '%s', 30, NULL)",
             weft_sql_statements[WEFT_SQL_CLAIM].name, uid, wf);
    explain_wide_scans(c, sql, why, sizeof why);
    cr_expect(why[0] == '\0', "claim %s:%s", when, why);
}

/* EXPLAINs the sweeper's three statements: each reads its partial index of work in flight,
 * never the history (the table's activities, nearly all pending or done). */
static void expect_sweeps_use_indexes(PGconn *c, const char *when)
{
    static const struct {
        weft_sql_id id;
        const char *args;
    } sweeps[] = {{WEFT_SQL_SWEEP, "120, 1000"},
                  {WEFT_SQL_SWEEP_HANDOFFS, "120, 1000"},
                  {WEFT_SQL_SWEEP_LEASES, "1000"}};
    for (size_t i = 0; i < sizeof sweeps / sizeof sweeps[0]; i++) {
        char sql[256], why[512];
        const char *name = weft_sql_statements[sweeps[i].id].name;
        snprintf(sql, sizeof sql, "EXECUTE %s(%s)", name, sweeps[i].args);
        explain_wide_scans(c, sql, why, sizeof why);
        cr_expect(why[0] == '\0', "%s %s:%s", name, when, why);
    }
}

/* Starts logging the plans this session builds, from now on. */
static void capture(plan_log *log)
{
    plan_log_clear(log);
    log->on = true;
}

/* Runs attempt 1 of uid and hands it off; then, over the plans built since capture(): some
 * read weft_activity (weft_handoff's statements did not run on plans from before) and none
 * scans a table or reads a whole workflow. */
static void expect_handoff_probes_keys(PGconn *c, plan_log *log, const char *wf, const char *uid,
                                       const char *when)
{
    run_activity(c, wf, uid);
    log->on = false;
    char relid[48], pkey[48];
    oid_token(c, "weft_activity", ":relid", relid, sizeof relid);
    oid_token(c, "weft_activity_pkey", ":indexid", pkey, sizeof pkey);
    size_t built = 0;
    for (size_t i = 0; i < log->n; i++) {
        if (!strstr(log->dumps[i], relid))
            continue;
        built++;
        cr_expect(!strstr(log->dumps[i], "{SEQSCAN"),
                  "claim, complete or handoff %s: a sequential scan:\n%s", when, log->dumps[i]);
        cr_expect(!dump_reads_whole_workflow(log->dumps[i], pkey),
                  "claim, complete or handoff %s: reads the whole workflow:\n%s", when,
                  log->dumps[i]);
    }
    cr_expect(built > 0,
              "handoff %s: no plan was built since the tables grew; it ran on plans cached "
              "while they were tiny",
              when);
}

Test(plans, claim_and_handoff_probe_keys_fresh_and_at_10000_activities, .fini = drop_schema)
{
    weft_store *s = fresh_store();
    plan_log log = {0};
    PGconn *c = session(&log);
    exec_ok(c, "ALTER TABLE weft_activity SET (autovacuum_enabled = false)");
    exec_ok(c, "ALTER TABLE weft_workflow SET (autovacuum_enabled = false)");

    /* A fresh database: the tables hold one small workflow. */
    char small[WEFT_UUID_LEN + 1], uid[WEFT_UUID_LEN + 1];
    weft_dispatch_list ready = {0};
    create(s, SMALL, small, &ready);
    activity_uid(c, small, 0, uid);
    expect_claim_probes_keys(c, small, uid, "on a fresh database");
    capture(&log);
    expect_handoff_probes_keys(c, &log, small, uid, "on a fresh database");

    /* Statistics of the tiny tables, as autovacuum gathers them within a minute of a
     * start, then enough executions for this session to settle on cached plans. */
    exec_ok(c, "ANALYZE weft_activity");
    exec_ok(c, "ANALYZE weft_workflow");
    for (int i = 1; i < SMALL; i++) {
        activity_uid(c, small, i, uid);
        run_activity(c, small, uid);
    }

    /* The tables grow by a workflow of 10,000 activities (a chain, so that no handoff
     * rightly touches most of the table) and a few hundred small ones (weft_workflow as one
     * page would rightly be read whole). */
    char big[WEFT_UUID_LEN + 1];
    capture(&log);
    create(s, BIG, big, &ready);
    for (int i = 0; i < OTHERS; i++)
        create(s, 5, uid, &ready);
    activity_uid(c, big, 0, uid);
    run_activity(c, big, uid);
    activity_uid(c, big, 1, uid);
    expect_claim_probes_keys(c, big, uid, "at 10,000 activities");
    expect_handoff_probes_keys(c, &log, big, uid, "at 10,000 activities");

    /* Again after autovacuum's own ANALYZE. */
    capture(&log);
    exec_ok(c, "ANALYZE weft_activity");
    exec_ok(c, "ANALYZE weft_workflow");
    activity_uid(c, big, 2, uid);
    expect_claim_probes_keys(c, big, uid, "at 10,000 activities, analyzed");
    expect_handoff_probes_keys(c, &log, big, uid, "at 10,000 activities, analyzed");
    expect_sweeps_use_indexes(c, "at 10,000 activities, analyzed");

    /* The generic plan a session settles on after a few executions: built on statistics
     * that saw few activities waiting, it must not read the waiting set (a fan-out makes it
     * thousands of rows in an instant) instead of probing the uid. */
    exec_ok(c, "SET plan_cache_mode = force_generic_plan");
    activity_uid(c, big, 3, uid);
    expect_claim_probes_keys(c, big, uid, "as a generic plan");
    exec_ok(c, "RESET plan_cache_mode");

    plan_log_clear(&log);
    free(log.dumps);
    weft_dispatch_list_finish(&ready);
    PQfinish(c);
    weft_store_destroy(s);
}

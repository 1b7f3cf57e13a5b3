#include "store.h"

#include "alloc.h"
#include "config.h"
#include "dag.h"
#include "log.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arbitrary but fixed: every weft process migrates under this advisory lock key. */
#define MIGRATION_LOCK_KEY 0x77656674
#define NOTIFY_CHANNEL "weft_workflow"

/* Migrations in order; a migration never changes once released. */
static const char *const migrations[] = {
    /* 1: workflows, activities, attempt history */
    "CREATE TABLE weft_workflow ("
    "  uid uuid PRIMARY KEY,"
    "  name text NOT NULL,"
    "  status text NOT NULL CHECK (status IN"
    "    ('pending','running','completed','failed','canceled')),"
    "  definition jsonb NOT NULL,"
    "  inputs jsonb NOT NULL,"
    "  output jsonb,"
    "  error text,"
    "  total integer NOT NULL,"
    /* activities not yet terminal: the handoff that brings it to 0 decides completion */
    "  remaining integer NOT NULL,"
    "  created_at timestamptz NOT NULL DEFAULT now(),"
    "  updated_at timestamptz NOT NULL DEFAULT now(),"
    "  finished_at timestamptz);"
    "CREATE INDEX weft_workflow_active ON weft_workflow (status)"
    "  WHERE status IN ('pending','running');"
    "CREATE TABLE weft_activity ("
    "  workflow_uid uuid NOT NULL REFERENCES weft_workflow(uid) ON DELETE CASCADE,"
    "  idx integer NOT NULL,"
    "  uid uuid NOT NULL UNIQUE,"
    "  name text NOT NULL,"
    "  task text NOT NULL,"
    "  params jsonb NOT NULL,"
    "  deps integer[] NOT NULL,"       /* indices of depends_on, in listed order */
    "  downstream integer[] NOT NULL," /* indices of the activities depending on this one */
    "  unmet integer NOT NULL,"        /* dependencies not yet completed and handed off */
    "  status text NOT NULL CHECK (status IN"
    "    ('pending','queued','running','retrying','completed','failed','canceled')),"
    "  attempt integer NOT NULL DEFAULT 1,"
    "  retries integer NOT NULL DEFAULT 0," /* retries used since creation or last resume */
    "  max_retries integer NOT NULL,"
    "  initial_delay_ms double precision NOT NULL,"
    "  backoff double precision NOT NULL,"
    "  max_delay_ms double precision NOT NULL,"
    "  timeout_s integer NOT NULL DEFAULT 0,"
    "  priority integer NOT NULL DEFAULT 0,"
    "  input jsonb,"
    "  output jsonb,"
    "  error text,"
    "  handed_off boolean NOT NULL DEFAULT false," /* the terminal attempt's handoff ran */
    "  worker text,"
    "  queued_at timestamptz," /* when queued, or when a retry is due */
    "  started_at timestamptz,"
    "  finished_at timestamptz,"
    "  PRIMARY KEY (workflow_uid, idx));"
    "CREATE INDEX weft_activity_waiting ON weft_activity (queued_at)"
    "  WHERE status IN ('queued','retrying');"
    "CREATE TABLE weft_attempt ("
    "  activity_uid uuid NOT NULL,"
    "  attempt integer NOT NULL,"
    "  status text NOT NULL,"
    "  error text,"
    "  worker text,"
    "  started_at timestamptz,"
    "  finished_at timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (activity_uid, attempt));",
    /* 2: the handoff as one server-side call. It runs on the singleton's serial path, so
     * one round trip and one commit instead of seven: the count-down of unmet dependencies
     * (O(out-degree), never a rescan), failure with cancellation, or completion. */
    "CREATE FUNCTION weft_handoff(p_wf uuid, p_act uuid, p_attempt integer)"
    " RETURNS TABLE (o_status text, o_outcome text, o_uid uuid, o_attempt integer,"
    "  o_priority integer)"
    " LANGUAGE plpgsql AS $fn$"
    " DECLARE"
    "  v_status text; v_act_status text; v_downstream integer[]; v_name text;"
    "  v_error text; v_remaining integer; v_state record; v_i integer; v_ready boolean;"
    " BEGIN"
    /* Lock the workflow row first (resume locks it first too) and count the activity as
     * terminal at once, the common case; a stale or duplicate message gives it back. */
    "  UPDATE weft_workflow w SET remaining = w.remaining - 1, updated_at = now()"
    "   WHERE w.uid = p_wf RETURNING w.status, w.remaining INTO v_status, v_remaining;"
    "  IF NOT FOUND THEN"
    "   o_outcome := 'unknown_workflow'; RETURN NEXT; RETURN;"
    "  END IF;"
    "  UPDATE weft_activity a SET handed_off = true"
    "   WHERE a.uid = p_act AND a.attempt = p_attempt AND a.workflow_uid = p_wf"
    "   AND a.status IN ('completed','failed') AND NOT a.handed_off"
    "   RETURNING a.status, a.downstream, a.name, a.error"
    "   INTO v_act_status, v_downstream, v_name, v_error;"
    "  IF NOT FOUND THEN"
    "   UPDATE weft_workflow w SET remaining = w.remaining + 1 WHERE w.uid = p_wf;"
    "   SELECT a.workflow_uid, a.status, a.attempt, a.handed_off, a.downstream INTO v_state"
    "    FROM weft_activity a WHERE a.uid = p_act;"
    "   o_status := v_status;"
    "   IF NOT FOUND OR v_state.workflow_uid <> p_wf THEN"
    "    o_outcome := 'unknown_activity';"
    "   ELSIF v_state.attempt = p_attempt AND v_state.handed_off"
    "    AND v_state.status = 'completed' THEN"
    /* a duplicate: re-send what the first run queued, in case it died before publishing */
    "    FOREACH v_i IN ARRAY v_state.downstream LOOP"
    "     SELECT d.uid, d.attempt, d.priority INTO o_uid, o_attempt, o_priority"
    "      FROM weft_activity d WHERE d.workflow_uid = p_wf AND d.idx = v_i"
    "      AND d.status = 'queued';"
    "     IF FOUND THEN RETURN NEXT; END IF;"
    "    END LOOP;"
    "    o_uid := NULL; o_attempt := NULL; o_priority := NULL;"
    "    o_outcome := 'duplicate';"
    "   ELSE"
    "    o_outcome := 'stale';"
    "   END IF;"
    "   RETURN NEXT; RETURN;"
    "  END IF;"
    "  IF v_act_status = 'completed' THEN"
    /* One key lookup per dependent: with both key columns given by equality the plan is a
     * unique index probe whatever the statistics say (a fresh database has none, and a
     * set-based join was then planned as a scan of the whole workflow). SET expressions
     * see the old row: unmet = 1 means "about to reach 0". */
    "   FOREACH v_i IN ARRAY v_downstream LOOP"
    "    UPDATE weft_activity d SET unmet = d.unmet - 1,"
    "     status = CASE WHEN d.unmet = 1 AND d.status = 'pending' AND v_status = 'running'"
    "      THEN 'queued' ELSE d.status END,"
    "     queued_at = CASE WHEN d.unmet = 1 AND d.status = 'pending' AND v_status = 'running'"
    "      THEN now() ELSE d.queued_at END"
    "    WHERE d.workflow_uid = p_wf AND d.idx = v_i"
    "    RETURNING d.uid, d.attempt, d.priority, d.status = 'queued' AND d.unmet = 0"
    "    INTO o_uid, o_attempt, o_priority, v_ready;"
    "    IF v_ready THEN RETURN NEXT; END IF;"
    "   END LOOP;"
    "  ELSIF v_status = 'running' THEN"
    "   WITH c AS (UPDATE weft_activity d SET status = 'canceled', finished_at = now()"
    "     WHERE d.workflow_uid = p_wf AND d.status IN ('pending','queued','retrying')"
    "     RETURNING 1)"
    "   UPDATE weft_workflow w SET status = 'failed', finished_at = now(), updated_at = now(),"
    "    error = format('activity ''%s'' failed: %s', v_name,"
    "     coalesce(v_error, 'unknown error')),"
    "    remaining = w.remaining - (SELECT count(*) FROM c) WHERE w.uid = p_wf;"
    "   PERFORM pg_notify('" NOTIFY_CHANNEL "', p_wf::text);"
    "   v_status := 'failed';"
    "  END IF;"
    "  IF v_remaining = 0 AND v_act_status = 'completed' AND v_status = 'running' THEN"
    "   UPDATE weft_workflow w SET status = 'completed', finished_at = now(),"
    "    output = (SELECT jsonb_object_agg(a.name, a.output) FROM weft_activity a"
    "     WHERE a.workflow_uid = p_wf AND cardinality(a.downstream) = 0)"
    "    WHERE w.uid = p_wf;"
    "   PERFORM pg_notify('" NOTIFY_CHANNEL "', p_wf::text);"
    "   v_status := 'completed';"
    "  END IF;"
    "  o_status := v_status; o_outcome := 'handed_off';"
    "  o_uid := NULL; o_attempt := NULL; o_priority := NULL;"
    "  RETURN NEXT;"
    " END $fn$;",
    /* 3: activity and workflow rows are updated a few times each within seconds (a join's
     * row once per finished dependency): leave room on each page for those versions so the
     * updates stay on-page (HOT), and vacuum well before the default 20% of dead rows. */
    "ALTER TABLE weft_activity SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,"
    " autovacuum_analyze_scale_factor = 0.02);"
    "ALTER TABLE weft_workflow SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.02,"
    " autovacuum_analyze_scale_factor = 0.02);"
    /* a status-only index tempted the planner away from the primary key for lookups by uid */
    "DROP INDEX weft_workflow_active;",
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

enum {
    SQL_INSERT_WORKFLOW,
    SQL_INSERT_ACTIVITIES,
    SQL_LOCK_WORKFLOW,
    SQL_RESET_FAILED,
    SQL_QUEUE_READY,
    SQL_CLAIM,
    SQL_ACTIVITY_STATE,
    SQL_COMPLETE,
    SQL_FAIL,
    SQL_WORKFLOW,
    SQL_ACTIVITIES,
    SQL_SWEEP,
    SQL_RELEASE,
    SQL_HANDOFF,
    SQL_SWEEP_HANDOFFS,
    N_SQL
};

static const struct {
    const char *sql;
    int nparams;
} statements[N_SQL] = {
    [SQL_INSERT_WORKFLOW] = {"INSERT INTO weft_workflow (uid, name, status, definition, inputs,"
                             " total, remaining) VALUES ($1, $2, 'running', $3, $4, $5, $5)"
                             " ON CONFLICT (uid) DO NOTHING RETURNING uid",
                             5},
    /* One statement for any number of activities: rows arrive as one JSON array. */
    [SQL_INSERT_ACTIVITIES] =
        {"WITH ins AS (INSERT INTO weft_activity (workflow_uid, idx, uid, name, task, params,"
         " deps, downstream, unmet, status, max_retries, initial_delay_ms, backoff,"
         " max_delay_ms, timeout_s, priority, queued_at)"
         " SELECT $1, r.idx, r.uid, r.name, r.task, r.params, r.deps, r.downstream,"
         " cardinality(r.deps), CASE WHEN r.ready THEN 'queued' ELSE 'pending' END,"
         " r.max_retries, r.initial_delay_ms, r.backoff, r.max_delay_ms, r.timeout_s,"
         " r.priority, CASE WHEN r.ready THEN now() END"
         " FROM jsonb_to_recordset($2::jsonb) AS r(idx integer, uid uuid, name text, task text,"
         " params jsonb, deps integer[], downstream integer[], ready boolean, max_retries integer,"
         " initial_delay_ms float8, backoff float8, max_delay_ms float8, timeout_s integer,"
         " priority integer)"
         " RETURNING uid, attempt, priority, status)"
         " SELECT uid, attempt, priority FROM ins WHERE status = 'queued'",
         2},
    [SQL_LOCK_WORKFLOW] = {"SELECT status FROM weft_workflow WHERE uid = $1 FOR UPDATE", 1},
    /* Failed and canceled activities go back to pending; only those already counted as
     * terminal (canceled, or failed with their handoff done) give back to `remaining`. */
    [SQL_RESET_FAILED] =
        {"WITH r AS (UPDATE weft_activity a SET status = 'pending', attempt = a.attempt + 1,"
         " retries = 0, error = NULL, handed_off = false, started_at = NULL,"
         " finished_at = NULL FROM weft_activity old"
         " WHERE a.workflow_uid = $1 AND a.status IN ('failed','canceled')"
         " AND old.workflow_uid = a.workflow_uid AND old.idx = a.idx"
         " RETURNING (old.status = 'canceled' OR old.handed_off) AS counted)"
         " UPDATE weft_workflow SET status = 'running', error = NULL, finished_at = NULL,"
         " updated_at = now(), remaining = remaining +"
         " (SELECT count(*) FROM r WHERE counted) WHERE uid = $1",
         1},
    [SQL_QUEUE_READY] =
        {"WITH q AS (UPDATE weft_activity SET status = 'queued', queued_at = now()"
         " WHERE workflow_uid = $1 AND status = 'pending' AND unmet = 0 RETURNING uid)"
         " SELECT uid, attempt, priority FROM weft_activity WHERE workflow_uid = $1"
         " AND (status = 'queued' OR uid IN (SELECT uid FROM q))",
         1},
    /* Claim and read everything the attempt needs in one round trip. */
    [SQL_CLAIM] =
        {"WITH c AS (UPDATE weft_activity a SET status = 'running', started_at = now(),"
         " worker = $3 WHERE a.uid = $1 AND a.attempt = $2"
         " AND a.status IN ('queued','retrying') AND EXISTS (SELECT 1 FROM weft_workflow w"
         " WHERE w.uid = a.workflow_uid AND w.status = 'running')"
         " RETURNING a.workflow_uid, a.name, a.task, a.params, a.deps, a.priority, a.timeout_s,"
         " a.retries, a.max_retries, a.initial_delay_ms, a.backoff, a.max_delay_ms)"
         " SELECT c.workflow_uid, c.name, c.task, c.params, c.priority, c.timeout_s, c.retries,"
         " c.max_retries, c.initial_delay_ms, c.backoff, c.max_delay_ms, w.inputs,"
         " COALESCE((SELECT jsonb_agg(jsonb_build_array(u.name, u.output) ORDER BY d.ord)"
         " FROM unnest(c.deps) WITH ORDINALITY AS d(idx, ord) CROSS JOIN LATERAL"
         " (SELECT x.name, x.output FROM weft_activity x WHERE x.workflow_uid = c.workflow_uid"
         " AND x.idx = d.idx OFFSET 0) u), '[]'::jsonb)"
         " FROM c JOIN weft_workflow w ON w.uid = c.workflow_uid",
         3},
    [SQL_ACTIVITY_STATE] =
        {"SELECT workflow_uid, status, attempt, handed_off, priority, retries,"
         " max_retries, initial_delay_ms, backoff, max_delay_ms FROM weft_activity"
         " WHERE uid = $1",
         1},
    [SQL_COMPLETE] =
        {"WITH u AS (UPDATE weft_activity SET status = 'completed', input = $3, output = $4,"
         " error = NULL, finished_at = now() WHERE uid = $1 AND attempt = $2"
         " AND status = 'running' RETURNING uid, attempt, worker, started_at)"
         " INSERT INTO weft_attempt (activity_uid, attempt, status, worker, started_at)"
         " SELECT uid, attempt, 'completed', worker, started_at FROM u"
         " ON CONFLICT (activity_uid, attempt) DO UPDATE SET status = excluded.status,"
         " error = NULL, finished_at = now() RETURNING 1",
         4},
    /* $4: retry. A retry is due after $5 ms: queued_at holds the due time for the sweeper. */
    [SQL_FAIL] =
        {"WITH u AS (UPDATE weft_activity SET"
         " status = CASE WHEN $4 THEN 'retrying' ELSE 'failed' END,"
         " attempt = attempt + CASE WHEN $4 THEN 1 ELSE 0 END,"
         " retries = retries + CASE WHEN $4 THEN 1 ELSE 0 END, error = $3,"
         " finished_at = CASE WHEN $4 THEN NULL ELSE now() END,"
         " queued_at = CASE WHEN $4 THEN now() + make_interval(secs => $5::float8 / 1000.0) END"
         " WHERE uid = $1 AND attempt = $2 AND status = 'running'"
         " RETURNING uid, attempt, worker, started_at),"
         " h AS (INSERT INTO weft_attempt (activity_uid, attempt, status, error, worker,"
         " started_at) SELECT uid, $2, 'failed', $3, worker, started_at FROM u"
         " ON CONFLICT (activity_uid, attempt) DO UPDATE SET status = excluded.status,"
         " error = excluded.error, finished_at = now())"
         " SELECT attempt FROM u",
         5},
    [SQL_WORKFLOW] = {"SELECT uid, name, status, output, error, total, remaining,"
                      " extract(epoch FROM now() - created_at),"
                      " extract(epoch FROM coalesce(finished_at, now()) - created_at)"
                      " FROM weft_workflow WHERE uid = $1",
                      1},
    [SQL_ACTIVITIES] =
        {"SELECT coalesce(jsonb_agg(jsonb_build_object('name', a.name, 'uid', a.uid,"
         " 'task', a.task, 'status', a.status, 'attempt', a.attempt, 'retries', a.retries,"
         " 'error', a.error, 'duration_s', extract(epoch FROM coalesce(a.finished_at, now())"
         " - a.started_at), 'attempts', (SELECT coalesce(jsonb_agg(jsonb_build_object("
         "'attempt', t.attempt, 'status', t.status, 'error', t.error, 'started',"
         " extract(epoch FROM t.started_at), 'finished', extract(epoch FROM t.finished_at))"
         " ORDER BY t.attempt),"
         " '[]'::jsonb) FROM weft_attempt t WHERE t.activity_uid = a.uid))"
         " ORDER BY a.idx), '[]'::jsonb) FROM weft_activity a WHERE a.workflow_uid = $1",
         1},
    [SQL_SWEEP] = {"UPDATE weft_activity a SET queued_at = now() FROM weft_workflow w"
                   " WHERE w.uid = a.workflow_uid AND w.status = 'running'"
                   " AND a.status IN ('queued','retrying')"
                   " AND a.queued_at < now() - make_interval(secs => $1::float8)"
                   " RETURNING a.uid, a.attempt, a.priority, a.workflow_uid",
                   1},
    [SQL_HANDOFF] = {"SELECT o_status, o_outcome, o_uid, o_attempt, o_priority"
                     " FROM weft_handoff($1, $2, $3)",
                     3},
    [SQL_RELEASE] = {"UPDATE weft_activity SET status = 'queued', started_at = NULL,"
                     " worker = NULL, queued_at = now() WHERE uid = $1 AND attempt = $2"
                     " AND status = 'running' RETURNING 1",
                     2},
    [SQL_SWEEP_HANDOFFS] =
        {"SELECT a.uid, a.attempt, a.priority, a.workflow_uid FROM weft_activity a"
         " JOIN weft_workflow w ON w.uid = a.workflow_uid WHERE w.status = 'running'"
         " AND a.status IN ('completed','failed') AND NOT a.handed_off"
         " AND a.finished_at < now() - make_interval(secs => $1::float8)",
         1},
};

/* libpq keeps its input buffer at the size of the largest result it read (a join's claim
 * of 100,000 upstream outputs): after a result this big the connection is replaced before
 * its next use. */
#define RECONNECT_AFTER_BYTES (4u * 1024u * 1024u)

struct weft_store {
    PGconn *conn;
    bool replace; /* a result over RECONNECT_AFTER_BYTES was read */
    char *url;
    bool prepared;
    bool listening;
};

void weft_dispatch_list_finish(weft_dispatch_list *l)
{
    free(l->items);
    memset(l, 0, sizeof *l);
}

static void dispatch_add(weft_dispatch_list *l, const char *uid, int attempt, int priority)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = weft_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    weft_dispatch *d = &l->items[l->n++];
    snprintf(d->uid, sizeof d->uid, "%s", uid);
    d->attempt = attempt;
    d->priority = priority;
}

void weft_claim_finish(weft_claim *c)
{
    free(c->name);
    free(c->task);
    json_decref(c->params);
    json_decref(c->inputs);
    json_decref(c->upstream);
    free(c->upstream_ordered);
    memset(c, 0, sizeof *c);
}

void weft_workflow_info_finish(weft_workflow_info *w)
{
    json_decref(w->output);
    free(w->error);
    memset(w, 0, sizeof *w);
}

/* A failed statement is an infrastructure problem (retry the message later) unless
 * Postgres says the data itself is bad (SQLSTATE class 22), which no retry can fix. */
static weft_status db_error(weft_store *s, PGresult *r, const char *what, weft_err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = PQerrorMessage(s->conn);
    char line[300];
    snprintf(line, sizeof line, "%s", msg ? msg : "unknown error");
    line[strcspn(line, "\n")] = '\0';
    weft_status st = state && strncmp(state, "22", 2) == 0 ? WEFT_EINVAL : WEFT_EDB;
    return weft_err_set(err, st, "postgres: %s: %s%s%s", what, line, state ? " SQLSTATE " : "",
                        state ? state : "");
}

static weft_status exec_simple(weft_store *s, const char *sql, weft_err *err)
{
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType t = PQresultStatus(r);
    weft_status st =
        t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK ? WEFT_OK : db_error(s, r, sql, err);
    PQclear(r);
    return st;
}

static weft_status exec_params(weft_store *s, const char *sql, const char *param, weft_err *err)
{
    PGresult *r = PQexecParams(s->conn, sql, 1, NULL, &param, NULL, NULL, 0);
    ExecStatusType t = PQresultStatus(r);
    weft_status st =
        t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK ? WEFT_OK : db_error(s, r, sql, err);
    PQclear(r);
    return st;
}

static weft_status migrate(weft_store *s, weft_err *err)
{
    char key[16], version[16];
    snprintf(key, sizeof key, "%d", MIGRATION_LOCK_KEY);
    weft_status st = exec_params(s, "SELECT pg_advisory_lock($1::bigint)", key, err);
    if (st)
        return st;
    st = exec_simple(s,
                     "CREATE TABLE IF NOT EXISTS weft_schema_version (version integer PRIMARY KEY,"
                     " applied_at timestamptz NOT NULL DEFAULT now())",
                     err);
    int current = 0;
    if (!st) {
        PGresult *r = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM weft_schema_version");
        if (PQresultStatus(r) == PGRES_TUPLES_OK)
            current = atoi(PQgetvalue(r, 0, 0));
        else
            st = db_error(s, r, "reading the schema version", err);
        PQclear(r);
    }
    for (int v = current + 1; !st && v <= (int)N_MIGRATIONS; v++) {
        st = exec_simple(s, "BEGIN", err);
        if (!st)
            st = exec_simple(s, migrations[v - 1], err);
        if (!st) {
            snprintf(version, sizeof version, "%d", v);
            st = exec_params(s, "INSERT INTO weft_schema_version (version) VALUES ($1::integer)",
                             version, err);
        }
        if (!st)
            st = exec_simple(s, "COMMIT", err);
        if (st)
            exec_simple(s, "ROLLBACK", NULL);
        else
            WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "applied schema migration %d", v);
    }
    exec_params(s, "SELECT pg_advisory_unlock($1::bigint)", key, NULL);
    return st;
}

static weft_status prepare_all(weft_store *s, weft_err *err)
{
    for (int i = 0; i < N_SQL; i++) {
        char name[16];
        snprintf(name, sizeof name, "weft%d", i);
        PGresult *r = PQprepare(s->conn, name, statements[i].sql, statements[i].nparams, NULL);
        weft_status st =
            PQresultStatus(r) == PGRES_COMMAND_OK ? WEFT_OK : db_error(s, r, "prepare", err);
        PQclear(r);
        if (st)
            return weft_err_prefix(err, "statement %d: ", i);
    }
    s->prepared = true;
    return WEFT_OK;
}

/* Server notices ("relation already exists, skipping") are not for operators' logs. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* (Re)opens the connection when it is not healthy, then makes sure statements exist. */
static weft_status ensure(weft_store *s, weft_err *err)
{
    if (s->conn && PQstatus(s->conn) == CONNECTION_OK && s->prepared && !s->replace)
        return WEFT_OK;
    s->replace = false;
    if (s->conn)
        PQfinish(s->conn);
    s->prepared = false;
    s->listening = false;
    s->conn = PQconnectdb(s->url);
    PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        /* libpq quotes what it could not parse of the URL, password included */
        char *msg = weft_redact_secret(PQerrorMessage(s->conn), s->url);
        msg[strcspn(msg, "\n")] = '\0';
        weft_err_set(err, WEFT_EDB, "postgres unreachable: %.300s", msg);
        free(msg);
        return WEFT_EDB;
    }
    /* Every weft statement is a lookup by key. Plans are cached from the first executions,
     * when a fresh database's tables hold a few rows and a sequential scan looks cheapest;
     * kept as the tables grow, such a plan makes each handoff O(workflows). */
    weft_status st = exec_simple(s, "SET enable_seqscan = off", err);
    if (!st)
        st = migrate(s, err);
    return st ? st : prepare_all(s, err);
}

weft_status weft_store_connect(const char *url, weft_store **out, weft_err *err)
{
    weft_store *s = weft_xcalloc(1, sizeof *s);
    s->url = weft_xstrdup(url);
    weft_status st = ensure(s, err);
    if (st) {
        weft_store_destroy(s);
        *out = NULL;
        return st;
    }
    *out = s;
    return WEFT_OK;
}

void weft_store_destroy(weft_store *s)
{
    if (!s)
        return;
    if (s->conn)
        PQfinish(s->conn);
    free(s->url);
    free(s);
}

/* Runs prepared statement `which`; on success *res is the result (caller PQclears). */
static weft_status run(weft_store *s, int which, const char *const *params, PGresult **res,
                       weft_err *err)
{
    char name[16];
    snprintf(name, sizeof name, "weft%d", which);
    PGresult *r = PQexecPrepared(s->conn, name, statements[which].nparams, params, NULL, NULL, 0);
    ExecStatusType t = PQresultStatus(r);
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
        char what[32];
        snprintf(what, sizeof what, "statement %d", which);
        weft_status st = db_error(s, r, what, err);
        PQclear(r);
        return st;
    }
    size_t bytes = 0;
    for (int i = 0; i < statements[which].nparams; i++)
        bytes += params[i] ? strlen(params[i]) : 0;
    for (int i = 0; i < PQntuples(r) && bytes <= RECONNECT_AFTER_BYTES; i++)
        for (int j = 0; j < PQnfields(r); j++)
            bytes += (size_t)PQgetlength(r, i, j);
    if (bytes > RECONNECT_AFTER_BYTES)
        s->replace = true;
    /* outside a transaction the buffers can go at once (a PGresult outlives its
     * connection); inside one, at the next start */
    if (s->replace && PQtransactionStatus(s->conn) == PQTRANS_IDLE) {
        PQfinish(s->conn);
        s->conn = NULL;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return WEFT_OK;
}

/* One statement outside a transaction: reconnects first when needed. */
static weft_status query(weft_store *s, int which, const char *const *params, PGresult **res,
                         weft_err *err)
{
    weft_status st = ensure(s, err);
    return st ? st : run(s, which, params, res, err);
}

static weft_status begin(weft_store *s, weft_err *err)
{
    weft_status st = ensure(s, err);
    return st ? st : exec_simple(s, "BEGIN", err);
}

/* Commits when st is WEFT_OK, else rolls back; returns the first failure. */
static weft_status finish_tx(weft_store *s, weft_status st, weft_err *err)
{
    if (st) {
        exec_simple(s, "ROLLBACK", NULL);
        return st;
    }
    return exec_simple(s, "COMMIT", err);
}

static json_t *int_list(const size_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer((json_int_t)v[i]));
    return a;
}

/* The activities as the rows SQL_INSERT_ACTIVITIES reads, with their dependents and
 * whether they are ready at the start. */
static json_t *activity_rows(const weft_definition *def)
{
    size_t **down, *ndown;
    weft_dag_downstream(def, &down, &ndown);
    size_t *ready = weft_xcalloc(def->n, sizeof *ready);
    bool *is_ready = weft_xcalloc(def->n, sizeof *is_ready);
    size_t nready = weft_dag_ready(def, NULL, ready);
    for (size_t i = 0; i < nready; i++)
        is_ready[ready[i]] = true;
    json_t *rows = json_array();
    for (size_t i = 0; i < def->n; i++) {
        const weft_activity_def *a = &def->activities[i];
        char uid[WEFT_UUID_LEN + 1];
        weft_uuid_new(uid);
        json_array_append_new(
            rows,
            json_pack("{s:I, s:s, s:s, s:s, s:O, s:o, s:o, s:b, s:i, s:f, s:f, s:f, s:i, s:i}",
                      "idx", (json_int_t)i, "uid", uid, "name", a->name, "task", a->task, "params",
                      a->params, "deps", int_list(a->deps, a->ndeps), "downstream",
                      int_list(down[i], ndown[i]), "ready", is_ready[i], "max_retries",
                      a->retry.max_retries, "initial_delay_ms", a->retry.initial_delay_ms,
                      "backoff", a->retry.backoff, "max_delay_ms", a->retry.max_delay_ms,
                      "timeout_s", a->timeout_s, "priority", a->priority));
    }
    weft_dag_free_downstream(down, ndown, def->n);
    free(ready);
    free(is_ready);
    return rows;
}

static void append_dispatches(PGresult *r, weft_dispatch_list *dispatch, int filter_col)
{
    for (int i = 0; i < PQntuples(r); i++) {
        if (filter_col >= 0 && strcmp(PQgetvalue(r, i, filter_col), "t") != 0)
            continue;
        dispatch_add(dispatch, PQgetvalue(r, i, 0), atoi(PQgetvalue(r, i, 1)),
                     atoi(PQgetvalue(r, i, 2)));
    }
}

weft_status weft_store_create_workflow(weft_store *s, const char *uid, const weft_definition *def,
                                       const json_t *doc, const json_t *inputs,
                                       weft_dispatch_list *dispatch, bool *existed, weft_err *err)
{
    *existed = false;
    char *doc_text = json_dumps(doc, JSON_COMPACT);
    char *inputs_text = json_dumps(inputs, JSON_COMPACT);
    json_t *rows = activity_rows(def);
    char *rows_text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    char total[24];
    snprintf(total, sizeof total, "%zu", def->n);

    weft_status st = begin(s, err);
    PGresult *r = NULL;
    if (!st) {
        const char *p[] = {uid, def->name, doc_text, inputs_text, total};
        st = run(s, SQL_INSERT_WORKFLOW, p, &r, err);
    }
    if (!st) {
        *existed = PQntuples(r) == 0;
        PQclear(r);
    }
    if (!st && !*existed) {
        const char *p[] = {uid, rows_text};
        st = run(s, SQL_INSERT_ACTIVITIES, p, &r, err);
        if (!st) {
            append_dispatches(r, dispatch, -1);
            PQclear(r);
        }
    }
    st = finish_tx(s, st, err);
    free(doc_text);
    free(inputs_text);
    free(rows_text);
    return st;
}

static weft_status lock_workflow(weft_store *s, const char *uid, char status[16], weft_err *err)
{
    PGresult *r;
    const char *p[] = {uid};
    weft_status st = run(s, SQL_LOCK_WORKFLOW, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0)
        st = weft_err_set(err, WEFT_ENOTFOUND, "unknown workflow %s", uid);
    else
        snprintf(status, 16, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return st;
}

weft_status weft_store_resume(weft_store *s, const char *uid, weft_dispatch_list *dispatch,
                              char status[16], weft_err *err)
{
    const char *p[] = {uid};
    weft_status st = begin(s, err);
    if (!st)
        st = lock_workflow(s, uid, status, err);
    bool resumable = !st && (strcmp(status, "pending") == 0 || strcmp(status, "failed") == 0);
    if (resumable)
        st = run(s, SQL_RESET_FAILED, p, NULL, err);
    if (!st && (resumable || strcmp(status, "running") == 0)) {
        PGresult *r;
        st = run(s, SQL_QUEUE_READY, p, &r, err);
        if (!st) {
            append_dispatches(r, dispatch, -1);
            PQclear(r);
        }
    }
    return finish_tx(s, st, err);
}

static json_t *get_json(PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return json_null();
    return json_loads(PQgetvalue(r, row, col), JSON_DECODE_ANY, NULL);
}

weft_status weft_store_activity_state(weft_store *s, const char *uid, weft_activity_state *state,
                                      weft_err *err)
{
    PGresult *r;
    const char *p[] = {uid};
    weft_status st = query(s, SQL_ACTIVITY_STATE, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return weft_err_set(err, WEFT_ENOTFOUND, "unknown activity %s", uid);
    }
    snprintf(state->workflow_uid, sizeof state->workflow_uid, "%s", PQgetvalue(r, 0, 0));
    snprintf(state->status, sizeof state->status, "%s", PQgetvalue(r, 0, 1));
    state->attempt = atoi(PQgetvalue(r, 0, 2));
    state->handed_off = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
    state->priority = atoi(PQgetvalue(r, 0, 4));
    state->retries = atoi(PQgetvalue(r, 0, 5));
    state->retry.max_retries = atoi(PQgetvalue(r, 0, 6));
    state->retry.initial_delay_ms = atof(PQgetvalue(r, 0, 7));
    state->retry.backoff = atof(PQgetvalue(r, 0, 8));
    state->retry.max_delay_ms = atof(PQgetvalue(r, 0, 9));
    PQclear(r);
    return WEFT_OK;
}

weft_status weft_store_claim(weft_store *s, const char *uid, int attempt, const char *worker,
                             weft_claim *claim, weft_activity_state *state, weft_err *err)
{
    memset(claim, 0, sizeof *claim);
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {uid, att, worker};
    PGresult *r;
    weft_status st = query(s, SQL_CLAIM, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        st = weft_store_activity_state(s, uid, state, err);
        return st ? st : WEFT_ESTALE;
    }
    snprintf(claim->workflow_uid, sizeof claim->workflow_uid, "%s", PQgetvalue(r, 0, 0));
    claim->name = weft_xstrdup(PQgetvalue(r, 0, 1));
    claim->task = weft_xstrdup(PQgetvalue(r, 0, 2));
    claim->params = get_json(r, 0, 3);
    claim->priority = atoi(PQgetvalue(r, 0, 4));
    claim->timeout_s = atoi(PQgetvalue(r, 0, 5));
    claim->retries = atoi(PQgetvalue(r, 0, 6));
    claim->retry.max_retries = atoi(PQgetvalue(r, 0, 7));
    claim->retry.initial_delay_ms = atof(PQgetvalue(r, 0, 8));
    claim->retry.backoff = atof(PQgetvalue(r, 0, 9));
    claim->retry.max_delay_ms = atof(PQgetvalue(r, 0, 10));
    claim->inputs = get_json(r, 0, 11);
    json_t *up = get_json(r, 0, 12);
    PQclear(r);
    claim->upstream = json_object();
    claim->nupstream = json_array_size(up);
    claim->upstream_ordered = weft_xcalloc(claim->nupstream, sizeof(json_t *));
    for (size_t i = 0; i < claim->nupstream; i++) {
        json_t *pair = json_array_get(up, i);
        const char *name = json_string_value(json_array_get(pair, 0));
        json_t *out = json_array_get(pair, 1);
        json_object_set(claim->upstream, name ? name : "", out);
        claim->upstream_ordered[i] = json_object_get(claim->upstream, name ? name : "");
    }
    json_decref(up);
    if (!claim->params || !claim->inputs) {
        weft_claim_finish(claim);
        return weft_err_set(err, WEFT_EDB, "postgres returned unreadable JSON for %s", uid);
    }
    return WEFT_OK;
}

weft_status weft_store_complete(weft_store *s, const char *uid, int attempt, const json_t *input,
                                const json_t *output, weft_err *err)
{
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    char *in = json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY);
    char *out = json_dumps(output, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *p[] = {uid, att, in, out};
    PGresult *r;
    weft_status st = query(s, SQL_COMPLETE, p, &r, err);
    free(in);
    free(out);
    if (st)
        return st;
    st = PQntuples(r) == 0 ? WEFT_ESTALE : WEFT_OK;
    PQclear(r);
    return st;
}

weft_status weft_store_fail(weft_store *s, const char *uid, int attempt, const char *error,
                            bool retry, int delay_ms, int *next_attempt, weft_err *err)
{
    char att[16], delay[16];
    snprintf(att, sizeof att, "%d", attempt);
    snprintf(delay, sizeof delay, "%d", delay_ms);
    const char *p[] = {uid, att, error, retry ? "true" : "false", delay};
    PGresult *r;
    weft_status st = query(s, SQL_FAIL, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0)
        st = WEFT_ESTALE;
    else if (next_attempt)
        *next_attempt = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return st;
}

weft_status weft_store_handoff(weft_store *s, const char *workflow_uid, const char *uid,
                               int attempt, weft_dispatch_list *dispatch, char workflow_status[16],
                               weft_err *err)
{
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {workflow_uid, uid, att};
    PGresult *r;
    weft_status st = query(s, SQL_HANDOFF, p, &r, err);
    if (st)
        return st;
    const char *outcome = "";
    for (int i = 0; i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, 2)) {
            snprintf(workflow_status, 16, "%s", PQgetvalue(r, i, 0));
            outcome = PQgetvalue(r, i, 1);
        } else {
            dispatch_add(dispatch, PQgetvalue(r, i, 2), atoi(PQgetvalue(r, i, 3)),
                         atoi(PQgetvalue(r, i, 4)));
        }
    }
    if (strcmp(outcome, "unknown_workflow") == 0)
        st = weft_err_set(err, WEFT_ENOTFOUND, "unknown workflow %s", workflow_uid);
    else if (strcmp(outcome, "unknown_activity") == 0)
        st = weft_err_set(err, WEFT_ENOTFOUND, "unknown activity %s in workflow %s", uid,
                          workflow_uid);
    else if (strcmp(outcome, "stale") == 0)
        st = WEFT_ESTALE;
    else if (strcmp(outcome, "handed_off") != 0 && strcmp(outcome, "duplicate") != 0)
        st = weft_err_set(err, WEFT_EDB, "postgres: weft_handoff returned no outcome");
    PQclear(r);
    return st;
}

weft_status weft_store_workflow(weft_store *s, const char *uid, weft_workflow_info *info,
                                weft_err *err)
{
    memset(info, 0, sizeof *info);
    const char *p[] = {uid};
    PGresult *r;
    weft_status st = query(s, SQL_WORKFLOW, p, &r, err);
    if (st)
        return st;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return weft_err_set(err, WEFT_ENOTFOUND, "unknown workflow %s", uid);
    }
    snprintf(info->uid, sizeof info->uid, "%s", PQgetvalue(r, 0, 0));
    snprintf(info->name, sizeof info->name, "%s", PQgetvalue(r, 0, 1));
    snprintf(info->status, sizeof info->status, "%s", PQgetvalue(r, 0, 2));
    info->output = PQgetisnull(r, 0, 3) ? NULL : get_json(r, 0, 3);
    info->error = PQgetisnull(r, 0, 4) ? NULL : weft_xstrdup(PQgetvalue(r, 0, 4));
    info->total = atoi(PQgetvalue(r, 0, 5));
    info->remaining = atoi(PQgetvalue(r, 0, 6));
    info->age_s = atof(PQgetvalue(r, 0, 7));
    info->run_s = atof(PQgetvalue(r, 0, 8));
    PQclear(r);
    return WEFT_OK;
}

weft_status weft_store_activities(weft_store *s, const char *uid, json_t **out, weft_err *err)
{
    const char *p[] = {uid};
    PGresult *r;
    weft_status st = query(s, SQL_ACTIVITIES, p, &r, err);
    if (st)
        return st;
    *out = get_json(r, 0, 0);
    PQclear(r);
    return *out ? WEFT_OK : weft_err_set(err, WEFT_EDB, "unreadable activity list");
}

weft_status weft_store_wait_notify(weft_store *s, int timeout_ms, weft_err *err)
{
    weft_status st = ensure(s, err);
    if (!st && !s->listening) {
        st = exec_simple(s, "LISTEN " NOTIFY_CHANNEL, err);
        s->listening = st == WEFT_OK;
    }
    if (st)
        return st;
    PGnotify *n;
    PQconsumeInput(s->conn);
    if ((n = PQnotifies(s->conn))) {
        PQfreemem(n);
        return WEFT_OK;
    }
    struct pollfd pfd = {PQsocket(s->conn), POLLIN, 0};
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0 && errno != EINTR)
        return weft_err_set(err, WEFT_EDB, "postgres: poll: %s", strerror(errno));
    if (rc <= 0)
        return WEFT_ETIMEOUT;
    if (!PQconsumeInput(s->conn))
        return weft_err_set(err, WEFT_EDB, "postgres: connection lost while waiting");
    if ((n = PQnotifies(s->conn))) {
        while (n) {
            PQfreemem(n);
            n = PQnotifies(s->conn);
        }
        return WEFT_OK;
    }
    return WEFT_ETIMEOUT;
}

weft_status weft_store_release(weft_store *s, const char *uid, int attempt, weft_err *err)
{
    char att[16];
    snprintf(att, sizeof att, "%d", attempt);
    const char *p[] = {uid, att};
    PGresult *r;
    weft_status st = query(s, SQL_RELEASE, p, &r, err);
    if (st)
        return st;
    st = PQntuples(r) ? WEFT_OK : WEFT_ESTALE;
    PQclear(r);
    return st;
}

/* Runs one sweep statement: rows (uid, attempt, priority, workflow_uid) go to out. */
static weft_status sweep_into(weft_store *s, int which, const char *secs, weft_dispatch_list *out,
                              weft_err *err)
{
    const char *p[] = {secs};
    PGresult *r;
    weft_status st = query(s, which, p, &r, err);
    if (st)
        return st;
    size_t first = out->n;
    append_dispatches(r, out, -1);
    for (int i = 0; i < PQntuples(r); i++)
        snprintf(out->items[first + (size_t)i].workflow_uid, WEFT_UUID_LEN + 1, "%s",
                 PQgetvalue(r, i, 3));
    PQclear(r);
    return WEFT_OK;
}

weft_status weft_store_sweep(weft_store *s, int older_than_s, weft_dispatch_list *activities,
                             weft_dispatch_list *handoffs, weft_err *err)
{
    char secs[16];
    snprintf(secs, sizeof secs, "%d", older_than_s);
    weft_status st = sweep_into(s, SQL_SWEEP, secs, activities, err);
    return st ? st : sweep_into(s, SQL_SWEEP_HANDOFFS, secs, handoffs, err);
}

/* weft_bench: the weft side of tests/bench/run.sh. Each command drives one workload through
 * the running consumers the way a service would (entry messages published one at a time, each
 * waiting for its confirm) and
 * prints one JSON object on stdout; run.sh collects them and report.py makes the table.
 *
 * The clock stops when a client can see that the last workflow finished: the driver LISTENs
 * on the channel weft's store notifies in the transaction that completes or fails a
 * workflow (payload: its uid), then checks with one query that every workflow completed.
 *
 * Exit status: 0 when the workload completed, 1 when it did not (the JSON's "error" says
 * why), 2 on bad usage. */
#include "alloc.h"
#include "broker.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "message.h"
#include "uuid.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The channel store.c notifies when a workflow completes or fails; the payload is its uid. */
#define NOTIFY_CHANNEL "weft_workflow"
#define DEFAULT_TIMEOUT_S 900
#define CONFIRM_TIMEOUT_MS 60000
/* The floor's own queue, so measuring it never touches a queue weft consumes. */
#define FLOOR_QUEUE "weft_bench.floor"
#define FLOOR_CHANNEL 1
#define FLOOR_FRAME_MAX 131072

static const char usage[] =
    "usage: weft_bench [--timeout S] COMMAND ARGS\n"
    "  ready                      wait until each weft queue has a consumer\n"
    "  chains N STEPS [TASK]      N chains of STEPS activities, submitted at once\n"
    "  fanin WIDTH                root -> WIDTH no-ops -> join\n"
    "  latency RUNS STEPS [TASK]  a chain of STEPS, RUNS times one after another\n"
    "  scale wide|chain N         one workflow of N activities (wide: root, N-2 children, join)\n"
    "  floor OPS                  OPS fsynced Postgres commits, then OPS confirmed publishes\n"
    "TASK: the chain's task type, noop unless named (one a worker's task file serves).\n"
    "Connections from WEFT_AMQP_URL and WEFT_DATABASE_URL; limits from WEFT_MAX_*.\n"
    "Prints one JSON object per command on stdout.\n";

typedef struct {
    weft_config cfg;
    double timeout_s;
    weft_broker *broker;
    PGconn *pg; /* LISTENs on NOTIFY_CHANNEL */
} bench;

/* The workflows of one batch: their uids, sorted so a notification finds its own at once. */
typedef struct {
    char (*uids)[WEFT_UUID_LEN + 1];
    bool *done;
    size_t n, ndone;
    double last_done; /* monotonic seconds when the last one was seen finishing */
} batch;

static int cmp_uid(const void *a, const void *b)
{
    return strcasecmp(a, b);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted samples. */
static double percentile(const double *sorted, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    return sorted[rank ? rank - 1 : 0];
}

static double mean(const double *v, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return n ? sum / (double)n : 0;
}

/* A new result object for workload; report() prints and frees it. */
static json_t *result_new(const char *workload)
{
    return json_pack("{s:s, s:s}", "system", "weft", "workload", workload);
}

static void set_real(json_t *res, const char *key, double v)
{
    json_object_set_new(res, key, json_real(v));
}

static void set_int(json_t *res, const char *key, size_t v)
{
    json_object_set_new(res, key, json_integer((json_int_t)v));
}

/* Prints res (stolen) with its outcome and returns the exit status that goes with it. */
static int report(json_t *res, weft_status st, const weft_err *err)
{
    json_object_set_new(res, "ok", json_boolean(st == WEFT_OK));
    if (st)
        json_object_set_new(res, "error", json_string(err->msg[0] ? err->msg : weft_strerror(st)));
    char *text = json_dumps(res, JSON_COMPACT);
    puts(text);
    fflush(stdout);
    free(text);
    json_decref(res);
    return st ? 1 : 0;
}

/* ---------------------------------------------------------------- definitions --- */

/* One activity of task type task; depends_on (stolen) is NULL for a root. */
static json_t *activity(const char *name, const char *task, json_t *depends_on)
{
    json_t *a = json_pack("{s:s, s:s}", "name", name, "task", task);
    if (depends_on)
        json_object_set_new(a, "depends_on", depends_on);
    return a;
}

static json_t *definition(const char *name, json_t *activities)
{
    return json_pack("{s:s, s:o}", "name", name, "activities", activities);
}

static json_t *noop_activity(const char *name, json_t *depends_on)
{
    return activity(name, "noop", depends_on);
}

/* s0 -> s1 -> ... -> s(steps-1), each of task type task */
static json_t *chain_definition(size_t steps, const char *task)
{
    json_t *acts = json_array();
    char name[32], prev[32] = "";
    for (size_t i = 0; i < steps; i++) {
        snprintf(name, sizeof name, "s%zu", i);
        json_array_append_new(acts, activity(name, task, i ? json_pack("[s]", prev) : NULL));
        memcpy(prev, name, sizeof prev);
    }
    return definition("bench_chain", acts);
}

/* root -> w0 .. w(width-1) -> join: width + 2 activities */
static json_t *fan_definition(size_t width)
{
    json_t *acts = json_array();
    json_t *all = json_array();
    json_array_append_new(acts, noop_activity("root", NULL));
    char name[32];
    for (size_t i = 0; i < width; i++) {
        snprintf(name, sizeof name, "w%zu", i);
        json_array_append_new(acts, noop_activity(name, json_pack("[s]", "root")));
        json_array_append_new(all, json_string(name));
    }
    json_array_append_new(acts, noop_activity("join", all));
    return definition("bench_fan", acts);
}

/* --------------------------------------------------------------- connections --- */

static weft_status pg_connect(bench *b, weft_err *err)
{
    b->pg = PQconnectdb(b->cfg.database_url);
    if (PQstatus(b->pg) != CONNECTION_OK)
        return weft_err_set(err, WEFT_EDB, "postgres: %s", PQerrorMessage(b->pg));
    PGresult *r = PQexec(b->pg, "LISTEN " NOTIFY_CHANNEL);
    weft_status st =
        PQresultStatus(r) == PGRES_COMMAND_OK
            ? WEFT_OK
            : weft_err_set(err, WEFT_EDB, "postgres: LISTEN: %s", PQerrorMessage(b->pg));
    PQclear(r);
    return st;
}

static void batch_init(batch *bt, size_t n)
{
    bt->uids = weft_xcalloc(n, sizeof *bt->uids);
    bt->done = weft_xcalloc(n, sizeof *bt->done);
    bt->n = n;
    bt->ndone = 0;
    bt->last_done = 0;
    for (size_t i = 0; i < n; i++)
        weft_uuid_new(bt->uids[i]);
    qsort(bt->uids, n, sizeof *bt->uids, cmp_uid);
}

static void batch_finish(batch *bt)
{
    free(bt->uids);
    free(bt->done);
    memset(bt, 0, sizeof *bt);
}

static void batch_mark(batch *bt, const char *uid, double t)
{
    char(*hit)[WEFT_UUID_LEN + 1] = bsearch(uid, bt->uids, bt->n, sizeof *bt->uids, cmp_uid);
    if (!hit || bt->done[hit - bt->uids])
        return;
    bt->done[hit - bt->uids] = true;
    bt->ndone++;
    bt->last_done = t;
}

/* "{uid,uid,...}": the batch as one Postgres array parameter; new string. */
static char *uid_array(const batch *bt)
{
    char *s = weft_xmalloc(bt->n * (WEFT_UUID_LEN + 1) + 3);
    char *p = s;
    *p++ = '{';
    for (size_t i = 0; i < bt->n; i++) {
        if (i)
            *p++ = ',';
        memcpy(p, bt->uids[i], WEFT_UUID_LEN);
        p += WEFT_UUID_LEN;
    }
    *p++ = '}';
    *p = '\0';
    return s;
}

/* Every workflow of the batch must be `completed`; otherwise err says how many were, and
 * what the first other one says about itself. */
static weft_status check_completed(bench *b, const batch *bt, weft_err *err)
{
    char *arr = uid_array(bt);
    const char *params[] = {arr};
    PGresult *r =
        PQexecParams(b->pg,
                     "SELECT count(*) FILTER (WHERE status = 'completed'), count(*),"
                     " (array_agg(uid::text || ' is ' || status || coalesce(': ' || error, ''))"
                     " FILTER (WHERE status <> 'completed'))[1]"
                     " FROM weft_workflow WHERE uid = ANY($1::uuid[])",
                     1, NULL, params, NULL, NULL, 0);
    free(arr);
    weft_status st;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        st = weft_err_set(err, WEFT_EDB, "postgres: %s", PQerrorMessage(b->pg));
    } else {
        long completed = atol(PQgetvalue(r, 0, 0)), created = atol(PQgetvalue(r, 0, 1));
        st = (size_t)completed == bt->n
                 ? WEFT_OK
                 : weft_err_set(err, WEFT_ETIMEOUT,
                                "%ld of %zu workflows completed, %ld created, %zu notified%s%s",
                                completed, bt->n, created, bt->ndone,
                                PQgetisnull(r, 0, 2) ? "" : "; ", PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return st;
}

/* Reads notifications until every workflow of the batch finished or the deadline passed. */
static weft_status wait_batch(bench *b, batch *bt, double deadline, weft_err *err)
{
    while (bt->ndone < bt->n) {
        double left = deadline - weft_clock_s();
        if (left <= 0)
            return weft_err_set(err, WEFT_ETIMEOUT, "timed out");
        struct pollfd pfd = {PQsocket(b->pg), POLLIN, 0};
        int rc = poll(&pfd, 1, (int)(left * 1000.0) + 1);
        if (rc < 0 && errno != EINTR)
            return weft_err_set(err, WEFT_EIO, "poll: %s", strerror(errno));
        if (rc <= 0)
            continue;
        if (!PQconsumeInput(b->pg))
            return weft_err_set(err, WEFT_EDB, "postgres: %s", PQerrorMessage(b->pg));
        double t = weft_clock_s();
        PGnotify *n;
        while ((n = PQnotifies(b->pg))) {
            batch_mark(bt, n->extra, t);
            PQfreemem(n);
        }
    }
    return WEFT_OK;
}

/* Publishes one entry message; an oversized one fails here, with the variable to raise. */
static weft_status submit(bench *b, const json_t *def, size_t index, const char *uid, weft_err *err)
{
    json_t *inputs = json_pack("{s:I}", "i", (json_int_t)index);
    size_t len;
    char *body = weft_msg_encode_entry(def, inputs, uid, &len);
    json_decref(inputs);
    weft_status st;
    if (len > b->cfg.limits.max_message_bytes)
        st = weft_err_set(err, WEFT_ETOOBIG,
                          "entry message of %zu bytes is over WEFT_MAX_MESSAGE_BYTES (%zu)", len,
                          b->cfg.limits.max_message_bytes);
    else
        st = weft_broker_publish(b->broker, WEFT_QUEUE_ENTRY, body, len, 0, err);
    /* each submission returns only when the broker has it, as `weft submit` and a service's
     * submit call do (and Celery's apply_async under confirm_publish, celery_peer.py) */
    if (!st)
        st = weft_broker_wait_confirms(b->broker, CONFIRM_TIMEOUT_MS, err);
    free(body);
    return st;
}

/* Submits n workflows of def at once and waits for all: *seconds from the first publish to
 * the last completion. */
static weft_status run_batch(bench *b, const json_t *def, size_t n, double *seconds, weft_err *err)
{
    batch bt;
    batch_init(&bt, n);
    double t0 = weft_clock_s();
    weft_status st = WEFT_OK;
    for (size_t i = 0; !st && i < n; i++)
        st = submit(b, def, i, bt.uids[i], err);
    if (!st)
        st = wait_batch(b, &bt, t0 + b->timeout_s, err);
    if (st == WEFT_OK || st == WEFT_ETIMEOUT) {
        /* where the workflows stand explains a timeout, or catches one that finished badly */
        weft_err why = {0};
        weft_status cst = check_completed(b, &bt, &why);
        uint32_t dead = 0;
        weft_err qerr = {0};
        if (st || cst)
            weft_broker_queue_info(b->broker, WEFT_QUEUE_DEAD, &dead, NULL, &qerr);
        if (cst)
            weft_err_set(err, cst, "%s%s (weft.dead holds %u messages)", st ? "timed out: " : "",
                         why.msg, dead);
        else if (st)
            weft_err_set(err, st, "timed out: all %zu completed but %zu were notified", bt.n,
                         bt.ndone);
        st = st ? st : cst;
    }
    *seconds = bt.ndone ? bt.last_done - t0 : 0;
    batch_finish(&bt);
    return st;
}

/* A workflow of that many activities must fit the configured limit, or entry would
 * dead-letter it and the driver would wait for nothing. */
static weft_status check_size(const bench *b, size_t activities, weft_err *err)
{
    if (activities > b->cfg.limits.max_activities)
        return weft_err_set(err, WEFT_ETOOBIG, "%zu activities are over WEFT_MAX_ACTIVITIES (%zu)",
                            activities, b->cfg.limits.max_activities);
    return WEFT_OK;
}

/* ------------------------------------------------------------------ commands --- */

/* The queues whose consumers must be up: the entry, `default` and every handoff shard
 * (WEFT_HANDOFF_SHARDS, read as the consumers read it). */
static size_t ready_queues(const bench *b, char names[][WEFT_QUEUE_AMQP_MAX])
{
    size_t n = 0;
    snprintf(names[n++], WEFT_QUEUE_AMQP_MAX, "%s", WEFT_QUEUE_ENTRY);
    snprintf(names[n++], WEFT_QUEUE_AMQP_MAX, "%s", WEFT_QUEUE_DEFAULT);
    for (int k = 0; k < b->cfg.handoff_shards; k++)
        weft_queue_handoff_name(k, names[n++]);
    return n;
}

static int cmd_ready(bench *b)
{
    char queues[2 + WEFT_HANDOFF_SHARDS_MAX][WEFT_QUEUE_AMQP_MAX];
    size_t nqueues = ready_queues(b, queues);
    json_t *res = result_new("ready");
    weft_err err = {0};
    weft_status st = WEFT_OK;
    double t0 = weft_clock_s();
    for (size_t i = 0; !st && i < nqueues;) {
        uint32_t consumers = 0;
        st = weft_broker_queue_info(b->broker, queues[i], NULL, &consumers, &err);
        if (!st && consumers > 0)
            i++;
        else if (!st && weft_clock_s() - t0 > b->timeout_s)
            st = weft_err_set(&err, WEFT_ETIMEOUT, "no consumer on %s after %.0f s", queues[i],
                              b->timeout_s);
        else if (!st)
            weft_broker_pump(b->broker, 100, &err);
    }
    set_real(res, "seconds", weft_clock_s() - t0);
    return report(res, st, &err);
}

/* What Postgres did over a workload, read before and after from counters that are exact at
 * once (no statistics collector delay): transaction ids assigned (every writing
 * transaction takes one) and WAL bytes written. */
typedef struct {
    double xid, wal_bytes;
} pg_counters;

static weft_status pg_counters_read(PGconn *pg, pg_counters *c, weft_err *err)
{
    PGresult *r = PQexec(pg, "SELECT txid_snapshot_xmax(txid_current_snapshot())::float8,"
                             " pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8");
    weft_status st = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                         ? WEFT_OK
                         : weft_err_set(err, WEFT_EDB, "postgres: counters: %s",
                                        PQerrorMessage(pg));
    if (!st) {
        c->xid = atof(PQgetvalue(r, 0, 0));
        c->wal_bytes = atof(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return st;
}

/* Writing transactions and WAL bytes per step between before and now, into res. */
static void set_pg_per_step(bench *b, json_t *res, const pg_counters *before, size_t steps)
{
    pg_counters after;
    weft_err err = {0};
    if (pg_counters_read(b->pg, &after, &err) || !steps)
        return;
    set_real(res, "pg_xacts_per_step", (after.xid - before->xid) / (double)steps);
    set_real(res, "pg_wal_bytes_per_step", (after.wal_bytes - before->wal_bytes) / (double)steps);
}

static int cmd_chains(bench *b, size_t n, size_t steps, const char *task)
{
    json_t *res = result_new("chains");
    json_object_set_new(res, "task", json_string(task));
    json_t *def = chain_definition(steps, task);
    double seconds = 0;
    weft_err err = {0};
    pg_counters before = {0};
    weft_status st = pg_counters_read(b->pg, &before, &err);
    if (!st)
        st = run_batch(b, def, n, &seconds, &err);
    if (!st)
        set_pg_per_step(b, res, &before, n * steps);
    json_decref(def);
    set_int(res, "workflows", n);
    set_int(res, "steps", n * steps);
    set_real(res, "seconds", seconds);
    set_real(res, "steps_per_s", seconds > 0 ? (double)(n * steps) / seconds : 0);
    return report(res, st, &err);
}

static int cmd_fanin(bench *b, size_t width)
{
    json_t *res = result_new("fanin");
    weft_err err = {0};
    double seconds = 0;
    weft_status st = check_size(b, width + 2, &err);
    if (!st) {
        json_t *def = fan_definition(width);
        st = run_batch(b, def, 1, &seconds, &err);
        json_decref(def);
    }
    set_int(res, "width", width);
    set_int(res, "steps", width + 2);
    set_real(res, "seconds", seconds);
    set_real(res, "steps_per_s", seconds > 0 ? (double)(width + 2) / seconds : 0);
    return report(res, st, &err);
}

static int cmd_latency(bench *b, size_t runs, size_t steps, const char *task)
{
    json_t *res = result_new("latency");
    json_object_set_new(res, "task", json_string(task));
    json_t *def = chain_definition(steps, task);
    double *ms = weft_xcalloc(runs, sizeof *ms);
    weft_err err = {0};
    weft_status st = WEFT_OK;
    size_t done = 0;
    for (; !st && done < runs; done++) {
        double seconds = 0;
        st = run_batch(b, def, 1, &seconds, &err);
        ms[done] = seconds * 1000.0;
    }
    json_decref(def);
    if (st)
        weft_err_prefix(&err, "run %zu of %zu: ", done, runs);
    set_int(res, "runs", runs);
    set_int(res, "steps", steps);
    if (!st) {
        /* each run's figure too, so that report.py can pool the rounds of an interleaved run */
        json_t *each = json_array();
        for (size_t i = 0; i < runs; i++)
            json_array_append_new(each, json_real(ms[i]));
        json_object_set_new(res, "ms", each);
        qsort(ms, runs, sizeof *ms, cmp_double);
        set_real(res, "p50_ms", percentile(ms, runs, 50));
        set_real(res, "p99_ms", percentile(ms, runs, 99));
        set_real(res, "mean_ms", mean(ms, runs));
    }
    free(ms);
    return report(res, st, &err);
}

static int cmd_scale(bench *b, const char *shape, size_t n)
{
    json_t *res = result_new("scale");
    json_object_set_new(res, "shape", json_string(shape));
    set_int(res, "activities", n);
    weft_err err = {0};
    double seconds = 0;
    bool wide = strcmp(shape, "wide") == 0;
    weft_status st = check_size(b, n, &err);
    if (!st) {
        json_t *def = wide ? fan_definition(n - 2) : chain_definition(n, "noop");
        st = run_batch(b, def, 1, &seconds, &err);
        json_decref(def);
    }
    set_real(res, "seconds", seconds);
    set_real(res, "us_per_activity", seconds * 1e6 / (double)n);
    return report(res, st, &err);
}

/* ------------------------------------------------------------------ the floor --- */

static weft_status pg_exec(PGconn *pg, const char *sql, weft_err *err)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType t = PQresultStatus(r);
    PQclear(r);
    if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK)
        return WEFT_OK;
    return weft_err_set(err, WEFT_EDB, "postgres: %s: %s", sql, PQerrorMessage(pg));
}

/* The value of a Postgres setting into out (caller's buffer of size n). */
static weft_status pg_show(PGconn *pg, const char *setting, char *out, size_t n, weft_err *err)
{
    char sql[80];
    snprintf(sql, sizeof sql, "SHOW %s", setting);
    PGresult *r = PQexec(pg, sql);
    weft_status st = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                         ? WEFT_OK
                         : weft_err_set(err, WEFT_EDB, "postgres: %s: %s", sql, PQerrorMessage(pg));
    if (!st)
        snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return st;
}

/* ops single-row INSERTs, each its own transaction: with synchronous_commit on, each waits
 * for its WAL flush, the cost every weft state change pays at least once. */
static weft_status floor_commits(PGconn *pg, size_t ops, double *us, weft_err *err)
{
    weft_status st = pg_exec(pg, "SET synchronous_commit = on", err);
    if (!st) /* quiet: the NOTICE of a DROP IF EXISTS is no news */
        st = pg_exec(pg, "SET client_min_messages = warning", err);
    if (!st)
        st = pg_exec(pg, "DROP TABLE IF EXISTS weft_bench_floor", err);
    if (!st)
        st = pg_exec(pg,
                     "CREATE TABLE weft_bench_floor (id bigserial PRIMARY KEY,"
                     " at timestamptz NOT NULL DEFAULT now())",
                     err);
    for (size_t i = 0; !st && i < ops; i++) {
        double t0 = weft_clock_s();
        st = pg_exec(pg, "INSERT INTO weft_bench_floor DEFAULT VALUES", err);
        us[i] = (weft_clock_s() - t0) * 1e6;
    }
    if (!st)
        st = pg_exec(pg, "DROP TABLE weft_bench_floor", err);
    return st;
}

static weft_status amqp_check(amqp_rpc_reply_t r, const char *what, weft_err *err)
{
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return WEFT_OK;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        return weft_err_set(err, WEFT_EAMQP, "rabbitmq: %s: %s", what,
                            amqp_error_string2(r.library_error));
    return weft_err_set(err, WEFT_EAMQP, "rabbitmq: %s: refused by the broker", what);
}

/* Declares (or deletes) the floor's queue over a short connection of its own: weft_broker
 * declares weft's topology only. The queue is durable with x-max-priority 10, like
 * `default`, the queue the handoff consumer publishes to (a quorum queue, as `default`, under
 * WEFT_QUEUE_TYPE=quorum), on the first node WEFT_AMQP_URL lists. */
static weft_status floor_queue(const char *url, weft_queue_type type, bool delete, weft_err *err)
{
    char *buf = weft_xstrndup(url, strcspn(url, ","));
    struct amqp_connection_info info;
    amqp_default_connection_info(&info);
    if (amqp_parse_url(buf, &info) != AMQP_STATUS_OK || info.ssl) {
        free(buf);
        return weft_err_set(err, WEFT_EINVAL, "the floor needs a plain amqp:// WEFT_AMQP_URL");
    }
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    weft_status st = WEFT_OK;
    if (!sock || amqp_socket_open(sock, info.host, info.port) != AMQP_STATUS_OK)
        st = weft_err_set(err, WEFT_EAMQP, "rabbitmq: cannot connect to %s:%d", info.host,
                          info.port);
    if (!st)
        st = amqp_check(amqp_login(conn, info.vhost && *info.vhost ? info.vhost : "/", 0,
                                   FLOOR_FRAME_MAX, 0, AMQP_SASL_METHOD_PLAIN, info.user,
                                   info.password),
                        "login", err);
    if (!st) {
        amqp_channel_open(conn, FLOOR_CHANNEL);
        st = amqp_check(amqp_get_rpc_reply(conn), "channel.open", err);
    }
    if (!st && delete) {
        amqp_queue_delete(conn, FLOOR_CHANNEL, amqp_cstring_bytes(FLOOR_QUEUE), 0, 0);
        st = amqp_check(amqp_get_rpc_reply(conn), "queue.delete " FLOOR_QUEUE, err);
    } else if (!st) {
        amqp_table_entry_t arg =
            type == WEFT_QUEUE_QUORUM
                ? (amqp_table_entry_t){.key = amqp_cstring_bytes("x-queue-type"),
                                       .value = {.kind = AMQP_FIELD_KIND_UTF8,
                                                 .value = {.bytes = amqp_cstring_bytes("quorum")}}}
                : (amqp_table_entry_t){
                      .key = amqp_cstring_bytes("x-max-priority"),
                      .value = {.kind = AMQP_FIELD_KIND_I32, .value = {.i32 = 10}}};
        amqp_table_t args = {1, &arg};
        amqp_queue_declare(conn, FLOOR_CHANNEL, amqp_cstring_bytes(FLOOR_QUEUE), 0, 1, 0, 0, args);
        st = amqp_check(amqp_get_rpc_reply(conn), "queue.declare " FLOOR_QUEUE, err);
    }
    if (!st) {
        amqp_channel_close(conn, FLOOR_CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(conn);
    free(buf);
    return st;
}

/* ops persistent publishes of a handoff-sized body through weft_broker, each waiting for its
 * confirm: the same code path the handoff consumer takes for every dispatch. */
static weft_status floor_publishes(bench *b, size_t ops, double *us, weft_err *err)
{
    weft_attempt_msg m = {.attempt = 1};
    weft_uuid_new(m.workflow_uid);
    weft_uuid_new(m.activity_uid);
    size_t len;
    char *body = weft_msg_encode_attempt(&m, &len);
    weft_status st = floor_queue(b->cfg.amqp_url, b->cfg.queue_type, false, err);
    for (size_t i = 0; !st && i < ops; i++) {
        double t0 = weft_clock_s();
        st = weft_broker_publish(b->broker, FLOOR_QUEUE, body, len, 0, err);
        if (!st)
            st = weft_broker_wait_confirms(b->broker, CONFIRM_TIMEOUT_MS, err);
        us[i] = (weft_clock_s() - t0) * 1e6;
    }
    if (!st)
        st = floor_queue(b->cfg.amqp_url, b->cfg.queue_type, true, err);
    free(body);
    return st;
}

static void set_samples(json_t *res, const char *prefix, double *us, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, "%s_us", prefix);
    set_real(res, key, mean(us, n));
    qsort(us, n, sizeof *us, cmp_double);
    snprintf(key, sizeof key, "%s_p50_us", prefix);
    set_real(res, key, percentile(us, n, 50));
}

static int cmd_floor(bench *b, size_t ops)
{
    json_t *res = result_new("floor");
    set_int(res, "ops", ops);
    double *commit = weft_xcalloc(ops, sizeof *commit);
    double *publish = weft_xcalloc(ops, sizeof *publish);
    char fsync[32] = "", sync_commit[32] = "";
    weft_err err = {0};
    weft_status st = floor_commits(b->pg, ops, commit, &err);
    if (!st)
        st = pg_show(b->pg, "fsync", fsync, sizeof fsync, &err);
    if (!st)
        st = pg_show(b->pg, "synchronous_commit", sync_commit, sizeof sync_commit, &err);
    if (!st)
        st = floor_publishes(b, ops, publish, &err);
    if (!st) {
        json_object_set_new(res, "fsync", json_string(fsync));
        json_object_set_new(res, "synchronous_commit", json_string(sync_commit));
        set_real(res, "floor_us", mean(commit, ops) + mean(publish, ops));
        set_samples(res, "pg_commit", commit, ops);
        set_samples(res, "publish_confirm", publish, ops);
    }
    free(commit);
    free(publish);
    return report(res, st, &err);
}

/* ---------------------------------------------------------------------- main --- */

static bool parse_count(const char *s, long min, size_t *out)
{
    long v;
    if (!s || !weft_parse_int(s, min, 100000000, &v))
        return false;
    *out = (size_t)v;
    return true;
}

static int run_command(bench *b, int argc, char **argv)
{
    const char *cmd = argv[0];
    size_t x, y;
    if (strcmp(cmd, "ready") == 0 && argc == 1)
        return cmd_ready(b);
    /* chains and latency: an optional task type after the counts */
    const char *task = argc == 4 ? argv[3] : "noop";
    if (strcmp(cmd, "chains") == 0 && (argc == 3 || argc == 4) && parse_count(argv[1], 1, &x) &&
        parse_count(argv[2], 1, &y))
        return cmd_chains(b, x, y, task);
    if (strcmp(cmd, "fanin") == 0 && argc == 2 && parse_count(argv[1], 1, &x))
        return cmd_fanin(b, x);
    if (strcmp(cmd, "latency") == 0 && (argc == 3 || argc == 4) && parse_count(argv[1], 1, &x) &&
        parse_count(argv[2], 1, &y))
        return cmd_latency(b, x, y, task);
    if (strcmp(cmd, "scale") == 0 && argc == 3 &&
        (strcmp(argv[1], "wide") == 0 || strcmp(argv[1], "chain") == 0) &&
        parse_count(argv[2], 3, &x))
        return cmd_scale(b, argv[1], x);
    if (strcmp(cmd, "floor") == 0 && argc == 2 && parse_count(argv[1], 1, &x))
        return cmd_floor(b, x);
    fputs(usage, stderr);
    return 2;
}

int main(int argc, char **argv)
{
    bench b = {.timeout_s = DEFAULT_TIMEOUT_S};
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--timeout") == 0) {
        size_t t;
        if (!parse_count(argv[2], 1, &t)) {
            fputs(usage, stderr);
            return 2;
        }
        b.timeout_s = (double)t;
        first = 3;
    }
    if (first >= argc) {
        fputs(usage, stderr);
        return 2;
    }
    weft_err err = {0};
    weft_status st = weft_config_init(&b.cfg, &err);
    if (!st) {
        weft_log_init("weft_bench", WEFT_LOG_WARN, WEFT_LOG_TEXT);
        st = weft_broker_connect(b.cfg.amqp_url, b.cfg.amqp_cacert, 0, &b.broker, &err);
    }
    if (!st)
        st = pg_connect(&b, &err);
    int rc = st ? report(result_new(argv[first]), st, &err)
                : run_command(&b, argc - first, argv + first);
    PQfinish(b.pg);
    weft_broker_destroy(b.broker);
    weft_config_finish(&b.cfg);
    return rc;
}

/* fault_load: the load and the probes of the fault suite (tests/faults/README.md).
 *
 *   fault_load submit --count N --out FILE [--record NAME] [--ms MIN:MAX]
 *                     [--shapes chain,diamond,fanout] [--chain-len K] [--twice]
 *                     [--rate PER_S] [--seed S] [--transient SHARE] [--transient-max K]
 *                     [--permanent SHARE] [--by-message-id SHARE]
 *       publishes N entry messages of mixed shapes (every activity a `sleep`; with --record,
 *       a `test.record_sleep` of the suite's consumer builds (fault_hooks.c) that records its
 *       executions in NAME under WEFT_DATA_DIR) and appends a line per workflow to FILE once
 *       the broker confirmed it: "UID EXPECTED FAILING TAG", the outcome the load planned
 *       (completed, or failed with activity FAILING failed; "-" when none) and the tag its
 *       inputs carry. --twice publishes every entry message twice. With --record, SHARE of
 *       the activities fail TRANSIENT for their first 1..K attempts (K of --transient-max,
 *       2) and then succeed, and SHARE of the workflows get one activity with dependents
 *       that fails PERMANENT. --by-message-id: SHARE of the entry messages name their
 *       workflow by AMQP message_id alone, no workflow_uid (the entry derives the uid).
 *   fault_load hostile --count N [--kinds WORD,...]
 *       publishes N messages that can never be processed, spread over the three consumer
 *       queues; prints "published N bytes B". --kinds keeps only the kinds whose names
 *       contain one of the words (to find which kind a consumer trips on); with
 *       only fixed-count kinds (the big ones) chosen, --count does not matter.
 *   fault_load dead-drain
 *       empties weft.dead; prints how many messages it took.
 *   fault_load dead-check --expect N [--bytes B] [--timeout S]
 *       waits until weft.dead holds N messages, takes them all and checks each carries an
 *       x-weft-reason header (and that the bodies add up to B bytes, i.e. came unchanged);
 *       prints the count and the most common reasons. Exit 1 when a check fails.
 *   fault_load queues
 *       prints the ready messages of the main queues (every handoff shard of
 *       WEFT_HANDOFF_SHARDS), for the diagnosis of a stuck run.
 *   fault_load handoff-trace --trace FILE
 *       reads the handoff trace of fault-weft-handoff (handoff_trace.h) and prints
 *       "handoffs N workflows W shards_used S overlaps O", then "shard K N" per shard and
 *       "pid P N" per process that ran handoffs, and the first overlap if any. Exit 1 when
 *       two handoffs of one workflow overlapped in time.
 *
 * Connection URLs come from the environment as for the binaries (WEFT_AMQP_URL). */
#include "alloc.h"
#include "broker.h"
#include "clock.h"
#include "config.h"
#include "handoff_trace.h"
#include "message.h"
#include "uuid.h"
#include "weft_limits.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIRM_TIMEOUT_MS 30000
#define CONFIRM_BATCH 25
#define MIB (1024 * 1024)

/* A retry policy generous enough that a worker killed mid-attempt (a transient failure of
 * that attempt) never exhausts an activity's retries. */
#define LOAD_RETRY                                                                                 \
    "{\"max_retries\": 10, \"initial_delay_ms\": 100, \"backoff\": 1.5, "                          \
    "\"max_delay_ms\": 2000}"

typedef struct {
    int count;
    const char *out;
    const char *record;
    int ms_min, ms_max;
    bool chain, diamond, fanout;
    int chain_len;
    bool twice;
    double rate;
    uint64_t seed;
    double transient, permanent, by_message_id;
    int transient_max;
    int expect;
    long long bytes; /* -1: not checked */
    int timeout_s;
    const char *kinds; /* hostile: only the kinds whose names contain one of these words */
    const char *trace; /* handoff-trace: the trace file of fault-weft-handoff */
} options;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fault_load: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* ------------------------------------------------------------------ helpers --- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: reproducible shapes for a given --seed. */
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static int rng_between(int lo, int hi)
{
    return hi <= lo ? lo : lo + (int)(rng() % (uint64_t)(hi - lo + 1));
}

static weft_broker *connect_broker(void)
{
    const char *url = getenv("WEFT_AMQP_URL");
    if (!url || !*url)
        die("%s is not set", "WEFT_AMQP_URL");
    weft_broker *b = NULL;
    weft_err err = {0};
    if (weft_broker_connect(url, NULL, 0, &b, &err) != WEFT_OK)
        die("rabbitmq: %s", err.msg);
    return b;
}

static void publish(weft_broker *b, const char *queue, const char *body, size_t len)
{
    weft_err err = {0};
    if (weft_broker_publish(b, queue, body, len, 0, &err) != WEFT_OK)
        die("publish: %s", err.msg);
}

static void confirm(weft_broker *b)
{
    weft_err err = {0};
    if (weft_broker_wait_confirms(b, CONFIRM_TIMEOUT_MS, &err) != WEFT_OK)
        die("publisher confirms: %s", err.msg);
}

/* A growable byte buffer for the hostile bodies, which may hold NULs. */
typedef struct {
    char *p;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = weft_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_repeat(buf *b, const char *s, size_t times)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < times; i++)
        buf_add(b, s, n);
}

/* ------------------------------------------------------------------- submit --- */

/* A draw with probability p, from the seeded generator. */
static bool chance(double p)
{
    return p > 0 && (double)(rng() >> 11) / 9007199254740992.0 < p;
}

static json_t *activity(const options *o, const char *name, json_t *deps)
{
    json_error_t jerr;
    json_t *a = json_object();
    json_object_set_new(a, "name", json_string(name));
    json_object_set_new(a, "task", json_string(o->record ? "test.record_sleep" : "sleep"));
    json_t *params = json_object();
    json_object_set_new(params, "ms", json_integer(rng_between(o->ms_min, o->ms_max)));
    if (o->record)
        json_object_set_new(params, "record", json_string(o->record));
    /* planned failures are test.record_sleep's; the built-in sleep has none */
    if (o->record && chance(o->transient))
        json_object_set_new(params, "fail_transient",
                            json_integer(rng_between(1, o->transient_max)));
    json_object_set_new(a, "params", params);
    json_object_set_new(a, "retry", json_loads(LOAD_RETRY, 0, &jerr));
    if (deps)
        json_object_set_new(a, "depends_on", deps);
    return a;
}

static json_t *names(int n, const char *const *list)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

/* a0 → a1 → … → a(k-1) */
static json_t *chain(const options *o, int k)
{
    json_t *acts = json_array();
    char name[16], prev[16];
    for (int i = 0; i < k; i++) {
        snprintf(name, sizeof name, "a%d", i);
        const char *dep = prev;
        json_array_append_new(acts, activity(o, name, i ? names(1, &dep) : NULL));
        memcpy(prev, name, sizeof prev);
    }
    return acts;
}

/* top → left, right → bottom */
static json_t *diamond(const options *o)
{
    const char *top = "top", *sides[] = {"left", "right"};
    json_t *acts = json_array();
    json_array_append_new(acts, activity(o, "top", NULL));
    json_array_append_new(acts, activity(o, "left", names(1, &top)));
    json_array_append_new(acts, activity(o, "right", names(1, &top)));
    json_array_append_new(acts, activity(o, "bottom", names(2, sides)));
    return acts;
}

/* root → leaf0 … leaf(k-1), joined by `join` half of the time */
static json_t *fanout(const options *o)
{
    const char *root = "root";
    int k = rng_between(4, 8);
    bool join = rng() % 2 == 0;
    json_t *acts = json_array();
    json_array_append_new(acts, activity(o, "root", NULL));
    json_t *leaves = json_array();
    for (int i = 0; i < k; i++) {
        char name[16];
        snprintf(name, sizeof name, "leaf%d", i);
        json_array_append_new(acts, activity(o, name, names(1, &root)));
        json_array_append_new(leaves, json_string(name));
    }
    if (join)
        json_array_append_new(acts, activity(o, "join", leaves));
    else
        json_decref(leaves);
    return acts;
}

/* Makes one activity that others depend on fail PERMANENT; *failing gets its name. The
 * workflow must then fail with that activity failed and its dependents never run. */
static void plan_permanent(json_t *acts, const char **failing)
{
    size_t n = json_array_size(acts), with_dependents = 0;
    bool *has = calloc(n, sizeof *has);
    if (!has)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *deps = json_object_get(json_array_get(acts, i), "depends_on");
        for (size_t d = 0; d < json_array_size(deps); d++) {
            const char *dep = json_string_value(json_array_get(deps, d));
            for (size_t j = 0; j < n; j++)
                if (!has[j] && strcmp(dep, json_string_value(json_object_get(
                                               json_array_get(acts, j), "name"))) == 0) {
                    has[j] = true;
                    with_dependents++;
                }
        }
    }
    size_t pick = (size_t)rng_between(0, (int)with_dependents - 1), seen = 0;
    for (size_t j = 0; j < n; j++) {
        if (!has[j] || seen++ != pick)
            continue;
        json_t *a = json_array_get(acts, j);
        json_object_set_new(json_object_get(a, "params"), "fail_permanent", json_true());
        *failing = json_string_value(json_object_get(a, "name"));
    }
    free(has);
}

static json_t *definition(const options *o, int i, const char **failing)
{
    const char *shapes[3];
    int n = 0;
    if (o->chain)
        shapes[n++] = "chain";
    if (o->diamond)
        shapes[n++] = "diamond";
    if (o->fanout)
        shapes[n++] = "fanout";
    const char *shape = shapes[i % n];
    json_t *acts = strcmp(shape, "chain") == 0
                       ? chain(o, o->chain_len ? o->chain_len : rng_between(3, 5))
                   : strcmp(shape, "diamond") == 0 ? diamond(o)
                                                   : fanout(o);
    *failing = NULL;
    if (o->record && chance(o->permanent))
        plan_permanent(acts, failing);
    char name[32];
    snprintf(name, sizeof name, "fault_%s", shape);
    return json_pack("{s:s, s:o}", "name", name, "activities", acts);
}

/* One planned workflow, written to the --out file once confirmed. */
typedef struct {
    char uid[WEFT_UUID_LEN + 1];
    char tag[WEFT_UUID_LEN + 1];
    char failing[65]; /* the activity planned to fail PERMANENT, or "" */
} planned;

/* Appends the uids of the confirmed batch to out, so the file only ever names workflows the
 * broker took responsibility for. */
static void flush_batch(weft_broker *b, FILE *out, const planned *p, int *n)
{
    confirm(b);
    for (int i = 0; i < *n; i++)
        fprintf(out, "%s %s %s %s\n", p[i].uid, p[i].failing[0] ? "failed" : "completed",
                p[i].failing[0] ? p[i].failing : "-", p[i].tag);
    fflush(out);
    *n = 0;
}

static int cmd_submit(const options *o)
{
    if (!o->out)
        die("submit needs --out FILE");
    FILE *out = fopen(o->out, "a");
    if (!out)
        die("cannot open the uid file: %s", strerror(errno));
    weft_broker *b = connect_broker();
    planned batch[CONFIRM_BATCH];
    int nbatch = 0;
    double start = weft_clock_s();
    for (int i = 0; i < o->count; i++) {
        if (o->rate > 0) {
            double due = start + i / o->rate, wait = due - weft_clock_s();
            if (wait > 0)
                usleep((useconds_t)(wait * 1e6));
        }
        planned *p = &batch[nbatch];
        const char *failing;
        json_t *def = definition(o, i, &failing);
        snprintf(p->failing, sizeof p->failing, "%s", failing ? failing : "");
        /* the tag is the message id or the uid, and every workflow's inputs carry it: two
         * workflows with one tag are one message created twice */
        weft_uuid_new(p->tag);
        bool by_id = chance(o->by_message_id);
        if (by_id) {
            /* the uid the entry derives from the message id (engine.c, entry_uid); should
             * the two ever differ, the workflow shows as never created */
            char *name = weft_xasprintf("weft.entry.message_id:%s", p->tag);
            weft_uuid_from_name(name, strlen(name), p->uid);
            free(name);
        } else {
            memcpy(p->uid, p->tag, sizeof p->uid);
        }
        json_t *inputs = json_pack("{s:i, s:s}", "n", i, "tag", p->tag);
        size_t len;
        char *body = weft_msg_encode_entry(def, inputs, by_id ? NULL : p->uid, &len);
        for (int k = 0; k < (o->twice ? 2 : 1); k++) {
            weft_err err = {0};
            if (weft_broker_publish_id(b, WEFT_QUEUE_ENTRY, body, len, 0, by_id ? p->tag : NULL,
                                       &err) != WEFT_OK)
                die("publish: %s", err.msg);
        }
        free(body);
        json_decref(def);
        json_decref(inputs);
        if (++nbatch == CONFIRM_BATCH || o->rate > 0)
            flush_batch(b, out, batch, &nbatch);
    }
    flush_batch(b, out, batch, &nbatch);
    fclose(out);
    weft_broker_destroy(b);
    fprintf(stderr, "fault_load: submitted %d workflows%s in %.1f s\n", o->count,
            o->twice ? " (each entry message twice)" : "", weft_clock_s() - start);
    return 0;
}

/* ------------------------------------------------------------------ hostile --- */

static const char *const queues[] = {WEFT_QUEUE_ENTRY, WEFT_QUEUE_DEFAULT, WEFT_QUEUE_HANDOFF};

static const char *const metachars[] = {
    "x'; DROP TABLE weft_workflow;--",
    "$(rm -rf /)",
    "`touch /tmp/weft-pwned`",
    "a|b;c&&d>e",
    "../../../etc/passwd",
    "%s%s%n%x",
    "\\\" OR 1=1 --",
};
#define N_METACHARS (sizeof metachars / sizeof metachars[0])

/* An attempt message on default/handoff, a resume on the entry queue, for uids nobody knows. */
static void unknown_uid(buf *b, int q, int v)
{
    char w[WEFT_UUID_LEN + 1], a[WEFT_UUID_LEN + 1];
    weft_uuid_new(w);
    weft_uuid_new(a);
    char *s = q == 0 ? weft_xasprintf(v % 2 ? "{\"workflow_uid\": \"%s\"}"
                                            : "{\"workflow_uid\": \"%s\", \"config\": "
                                              "{\"name\": \"x\", \"activities\": [{\"name\": "
                                              "\"a\", \"task\": \"no.such.task\"}]}}",
                                      w)
                     : weft_xasprintf("{\"workflow_uid\": \"%s\", \"activity_uid\": \"%s\", "
                                      "\"attempt\": %d}",
                                      w, a, 1 + v % 3);
    buf_str(b, s);
    free(s);
}

static void not_json(buf *b, int q, int v)
{
    static const char *const variants[] = {
        "hello",
        "{",
        "}{",
        "{\"workflow_uid\":",
        "[1,2,,]",
        "{'a': 1}",
        "NaN",
        "01",
        "{\"a\" 1}",
        "\"unterminated",
        "{\"a\":1}{\"b\":2}",
        "\t\n ",
    };
    size_t n = sizeof variants / sizeof variants[0];
    if (v % (int)(n + 2) == (int)n)
        return; /* the empty body */
    if (v % (int)(n + 2) == (int)n + 1) {
        buf_add(b, "{\"workflow_uid\"\0: 1}", 20); /* a NUL inside */
        return;
    }
    buf_str(b, variants[v % (int)n]);
}

static void bad_utf8(buf *b, int q, int v)
{
    static const char *const variants[] = {
        "{\"workflow_uid\": \"\xff\xfe\xfd\"}",
        "{\"config\": {\"name\": \"\xc3\x28\", \"activities\": []}, \"inputs\": {}}",
        "\x80\x81\x82",
        "{\"workflow_uid\": \"\xc0\xaf\"}",     /* overlong */
        "{\"workflow_uid\": \"\xed\xa0\x80\"}", /* a surrogate */
        "{\"w\xf8\x88\x80\x80\x80\": 1}",       /* 5-byte form */
        "{\"workflow_uid\": \"\\ud800\"}",      /* a lone escaped surrogate */
    };
    buf_str(b, variants[v % (int)(sizeof variants / sizeof variants[0])]);
}

static void wrong_shape(buf *b, int q, int v)
{
    char w[WEFT_UUID_LEN + 1], a[WEFT_UUID_LEN + 1];
    weft_uuid_new(w);
    weft_uuid_new(a);
    static const char *const fixed[] = {
        "[]",
        "null",
        "42",
        "\"a string\"",
        "{}",
        "{\"config\": 5}",
        "{\"config\": {}, \"inputs\": []}",
        "{\"workflow_uid\": 12}",
        "{\"config\": {\"name\": \"x\", \"activities\": [{\"name\": \"a\", \"task\": \"noop\", "
        "\"bogus\": 1}]}}",
        "{\"config\": {\"name\": \"x\", \"activities\": [{\"name\": \"a\", \"task\": \"noop\", "
        "\"depends_on\": [\"b\"]}, {\"name\": \"b\", \"task\": \"noop\", \"depends_on\": "
        "[\"a\"]}]}}",
        "{\"config\": {\"name\": \"x\", \"activities\": [{\"name\": \"a\", \"task\": \"noop\", "
        "\"depends_on\": [\"a\"]}]}}",
        "{\"config\": {\"name\": \"x\", \"activities\": [{\"name\": \"a\", \"task\": \"noop\"}, "
        "{\"name\": \"a\", \"task\": \"noop\"}]}}",
        "{\"config\": {\"name\": \"x\", \"activities\": [{\"name\": \"a\", \"task\": \"noop\", "
        "\"retry\": {\"backoff\": 0.5}}]}}",
        "{\"config\": {\"name\": \"x\", \"activities\": [{\"name\": \"a\", \"task\": \"noop\", "
        "\"retry\": {\"max_retries\": -1}}]}}",
        "{\"config\": {\"name\": \"x\", \"activities\": [{\"name\": \"a\", \"task\": \"noop\", "
        "\"timeout_s\": \"soon\"}]}}",
    };
    size_t nf = sizeof fixed / sizeof fixed[0];
    int k = v % (int)(nf + 4);
    if (k < (int)nf) {
        buf_str(b, fixed[k]);
        return;
    }
    static const char *const attempt_forms[] = {
        "{\"workflow_uid\": \"%s\", \"activity_uid\": \"%s\", \"attempt\": 0}",
        "{\"workflow_uid\": \"%s\", \"activity_uid\": \"%s\", \"attempt\": -1}",
        "{\"workflow_uid\": \"%s\", \"activity_uid\": \"%s\", \"attempt\": \"1\"}",
        "{\"workflow_uid\": \"%s\", \"activity_uid\": \"%s\", \"attempt\": 1e30, \"x\": 1}",
    };
    char *s = weft_xasprintf(attempt_forms[k - (int)nf], w, a);
    buf_str(b, s);
    free(s);
}

/* SQL and shell metacharacters where names and uids go: all invalid by the name rule, the
 * task registry or the uuid form. */
static void metachar(buf *b, int q, int v)
{
    const char *m = metachars[v % (int)N_METACHARS];
    json_t *doc;
    switch ((v / (int)N_METACHARS) % 4) {
    case 0: /* workflow name */
        doc = json_pack("{s:{s:s, s:[{s:s, s:s}]}}", "config", "name", m, "activities", "name", "a",
                        "task", "noop");
        break;
    case 1: /* activity name */
        doc = json_pack("{s:{s:s, s:[{s:s, s:s}]}}", "config", "name", "x", "activities", "name", m,
                        "task", "noop");
        break;
    case 2: /* task name */
        doc = json_pack("{s:{s:s, s:[{s:s, s:s}]}}", "config", "name", "x", "activities", "name",
                        "a", "task", m);
        break;
    default: /* the uids themselves */
        doc = q == 0 ? json_pack("{s:s}", "workflow_uid", m)
                     : json_pack("{s:s, s:s, s:i}", "workflow_uid", m, "activity_uid", m, "attempt",
                                 1);
        break;
    }
    char *s = json_dumps(doc, JSON_COMPACT);
    buf_str(b, s);
    free(s);
    json_decref(doc);
}

static void deep_nesting(buf *b, int q, int v)
{
    const int depth = 10000;
    const char *open = v % 2 ? "{\"a\":" : "[", *close = v % 2 ? "}" : "]";
    buf_str(b, q == 0 ? "{\"config\": " : "{\"workflow_uid\": ");
    buf_repeat(b, open, depth);
    buf_str(b, "1");
    buf_repeat(b, close, depth);
    buf_str(b, "}");
}

static void huge_array(buf *b, int q, int v)
{
    const size_t n = 100000;
    buf_str(b, q == 0 ? "{\"config\": {\"name\": \"huge\", \"activities\": ["
                      : "{\"workflow_uid\": [");
    buf_repeat(b, v % 2 ? "{}," : "0,", n - 1);
    buf_str(b, v % 2 ? "{}" : "0");
    buf_str(b, q == 0 ? "]}}" : "]}");
}

static void body_5mib(buf *b, int q, int v)
{
    buf_str(b, "{\"config\": {\"name\": \"big\", \"activities\": [{\"name\": \"a\", \"task\": "
               "\"noop\"}]}, \"inputs\": {\"pad\": \"");
    buf_repeat(b, "xxxxxxxxxxxxxxxx", 5 * MIB / 16);
    buf_str(b, "\"}}");
}

static void many_activities(buf *b, int n)
{
    buf_str(b, "{\"config\": {\"name\": \"many\", \"activities\": [");
    for (int i = 0; i < n; i++) {
        char a[64];
        snprintf(a, sizeof a, "%s{\"name\":\"a%d\",\"task\":\"noop\"}", i ? "," : "", i);
        buf_str(b, a);
    }
    buf_str(b, "]}}");
}

static void acts_100k(buf *b, int q, int v)
{
    many_activities(b, 100000);
}

/* One over the default limit of activities, yet under the message size limit. */
static void acts_10001(buf *b, int q, int v)
{
    many_activities(b, 10001);
}

typedef void (*hostile_fn)(buf *b, int queue, int variant);

typedef struct {
    const char *name;
    hostile_fn fn;
    int fixed; /* this many whatever the total; 0: a share of the rest */
} hostile_kind;

static const hostile_kind kinds[] = {
    {"5 MiB body", body_5mib, 6},
    {"100,000 activities", acts_100k, 3},
    {"10,001 activities", acts_10001, 3},
    {"10,000-deep nesting", deep_nesting, 30},
    {"100,000-element array", huge_array, 30},
    {"not JSON", not_json, 0},
    {"invalid UTF-8", bad_utf8, 0},
    {"wrong shape", wrong_shape, 0},
    {"unknown uid", unknown_uid, 0},
    {"SQL/shell metacharacters", metachar, 0},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

/* --kinds "nesting,array": a comma-separated list of words of the kinds' names. */
static bool kind_selected(const options *o, const hostile_kind *k)
{
    if (!o->kinds)
        return true;
    char *list = weft_xstrdup(o->kinds), *save = NULL;
    bool found = false;
    for (char *w = strtok_r(list, ",", &save); w && !found; w = strtok_r(NULL, ",", &save))
        found = strstr(k->name, w) != NULL;
    free(list);
    return found;
}

static int cmd_hostile(const options *o)
{
    int fixed = 0, shared = 0;
    for (size_t k = 0; k < N_KINDS; k++) {
        if (!kind_selected(o, &kinds[k]))
            continue;
        fixed += kinds[k].fixed;
        shared += kinds[k].fixed == 0;
    }
    if (fixed + shared == 0)
        die("no hostile kind matches --kinds %s", o->kinds);
    if (shared && o->count < fixed + shared)
        die("hostile needs --count of at least %d", fixed + shared);
    weft_broker *b = connect_broker();
    /* what weft.dead will hold: bodies unchanged, but only the start of one over the limit
     * (the consumers run with the default WEFT_MAX_MESSAGE_BYTES) */
    const size_t limit = ((weft_limits)WEFT_LIMITS_DEFAULT).max_message_bytes;
    long long bytes = 0;
    int sent = 0, rest = o->count - fixed, nth_shared = 0;
    for (size_t k = 0; k < N_KINDS; k++) {
        if (!kind_selected(o, &kinds[k]))
            continue;
        int n = kinds[k].fixed;
        if (n == 0) {
            n = rest / shared + (nth_shared < rest % shared);
            nth_shared++;
        }
        for (int v = 0; v < n; v++) {
            int q = (sent + (int)k) % 3;
            buf body = {0};
            kinds[k].fn(&body, q, v);
            publish(b, queues[q], body.p ? body.p : "", body.len);
            size_t kept = body.len > limit && body.len > WEFT_BROKER_OVERSIZE_KEEP
                              ? WEFT_BROKER_OVERSIZE_KEEP
                              : body.len;
            bytes += (long long)kept;
            free(body.p);
            if (++sent % CONFIRM_BATCH == 0 || body.len > MIB)
                confirm(b);
        }
        fprintf(stderr, "fault_load: %-26s %4d\n", kinds[k].name, n);
    }
    confirm(b);
    weft_broker_destroy(b);
    printf("published %d bytes %lld\n", sent, bytes);
    return 0;
}

/* --------------------------------------------------------------- weft.dead --- */

static uint32_t dead_depth(weft_broker *b)
{
    uint32_t messages = 0, consumers = 0;
    weft_err err = {0};
    if (weft_broker_queue_info(b, WEFT_QUEUE_DEAD, &messages, &consumers, &err) != WEFT_OK)
        die("queue info: %s", err.msg);
    return messages;
}

/* Takes the next message of weft.dead into d; false when the queue is empty. */
static bool next_dead(weft_broker *b, weft_delivery *d)
{
    weft_err err = {0};
    weft_status st = weft_broker_get(b, WEFT_QUEUE_DEAD, d, &err);
    if (st == WEFT_ENOTFOUND)
        return false;
    if (st != WEFT_OK)
        die("basic.get: %s", err.msg);
    return true;
}

static int cmd_dead_drain(void)
{
    weft_broker *b = connect_broker();
    int n = 0;
    weft_delivery d;
    while (next_dead(b, &d)) {
        weft_delivery_finish(&d);
        n++;
    }
    weft_broker_destroy(b);
    printf("%d\n", n);
    return 0;
}

typedef struct {
    char *reason;
    int count;
} reason_count;

/* The reason with uids and numbers blurred, so that the summary groups alike reasons. */
static char *reason_key(const char *reason)
{
    size_t n = strlen(reason);
    if (n > 90)
        n = 90;
    char *k = weft_xstrndup(reason, n);
    for (char *c = k; *c; c++)
        if (*c >= '0' && *c <= '9')
            *c = '#';
    return k;
}

static int cmp_count(const void *a, const void *b)
{
    return ((const reason_count *)b)->count - ((const reason_count *)a)->count;
}

static int cmd_dead_check(const options *o)
{
    weft_broker *b = connect_broker();
    double end = weft_clock_s() + o->timeout_s;
    uint32_t depth;
    while ((depth = dead_depth(b)) < (uint32_t)o->expect && weft_clock_s() < end)
        usleep(250 * 1000);
    if (depth < (uint32_t)o->expect)
        fprintf(stderr, "fault_load: weft.dead holds %u messages after %d s, expected %d\n", depth,
                o->timeout_s, o->expect);

    int n = 0, without = 0, distinct = 0, cap = 0;
    long long bytes = 0;
    reason_count *reasons = NULL;
    weft_delivery d;
    while (next_dead(b, &d)) {
        n++;
        bytes += (long long)d.len;
        if (!d.reason || !*d.reason) {
            without++;
        } else {
            char *key = reason_key(d.reason);
            int i = 0;
            while (i < distinct && strcmp(reasons[i].reason, key) != 0)
                i++;
            if (i == distinct) {
                if (distinct == cap)
                    reasons = weft_xrealloc(reasons,
                                            (size_t)(cap = cap ? cap * 2 : 64) * sizeof *reasons);
                reasons[distinct++] = (reason_count){key, 0};
            } else {
                free(key);
            }
            reasons[i].count++;
        }
        weft_delivery_finish(&d);
    }
    weft_broker_destroy(b);

    qsort(reasons, (size_t)distinct, sizeof *reasons, cmp_count);
    for (int i = 0; i < distinct; i++) {
        if (i < 12)
            fprintf(stderr, "fault_load:   %4d x %s\n", reasons[i].count, reasons[i].reason);
        free(reasons[i].reason);
    }
    free(reasons);
    bool ok = n == o->expect && without == 0 && (o->bytes < 0 || bytes == o->bytes);
    printf("dead %d with_reason %d without_reason %d bytes %lld\n", n, n - without, without, bytes);
    return ok ? 0 : 1;
}

static void print_queue(weft_broker *b, const char *queue, bool first)
{
    uint32_t messages = 0, consumers = 0;
    weft_err err = {0};
    if (weft_broker_queue_info(b, queue, &messages, &consumers, &err) != WEFT_OK)
        die("queue info: %s", err.msg);
    printf("%s%s=%u (consumers %u)", first ? "" : " ", queue, messages, consumers);
}

static int cmd_queues(void)
{
    weft_config cfg;
    weft_err err = {0};
    if (weft_config_init(&cfg, &err) != WEFT_OK)
        die("%s", err.msg);
    int shards = cfg.handoff_shards;
    weft_config_finish(&cfg);
    weft_broker *b = connect_broker();
    print_queue(b, WEFT_QUEUE_ENTRY, true);
    print_queue(b, WEFT_QUEUE_DEFAULT, false);
    for (int k = 0; k < shards; k++) {
        char q[WEFT_QUEUE_HANDOFF_MAX];
        print_queue(b, weft_queue_handoff_name(k, q), false);
    }
    print_queue(b, WEFT_QUEUE_DEAD, false);
    printf("\n");
    weft_broker_destroy(b);
    return 0;
}

static int cmd_handoff_trace(const options *o)
{
    if (!o->trace)
        die("handoff-trace needs --trace FILE");
    handoff_trace_report r;
    char err[256];
    if (!handoff_trace_read(o->trace, &r, err, sizeof err))
        die("%s", err);
    printf("handoffs %ld workflows %ld shards_used %d overlaps %ld\n", r.handoffs, r.workflows,
           r.shards_used, r.overlaps);
    for (int k = 0; k < WEFT_HANDOFF_SHARDS_MAX; k++)
        if (r.per_shard[k])
            printf("shard %d %ld\n", k, r.per_shard[k]);
    for (int i = 0; i < r.npids; i++)
        printf("pid %d %ld\n", (int)r.pids[i], r.per_pid[i]);
    if (r.overlaps)
        printf("first overlap: %s\n", r.first_overlap);
    return r.overlaps ? 1 : 0;
}

/* -------------------------------------------------------------------- main --- */

static long long ll_arg(const char *flag, const char *v)
{
    char *end;
    errno = 0;
    long long n = v ? strtoll(v, &end, 10) : 0;
    if (!v || errno || *end || n < 0)
        die("%s needs a non-negative integer", flag);
    return n;
}

static int int_arg(const char *flag, const char *v)
{
    long long n = ll_arg(flag, v);
    if (n > 100000000)
        die("%s is too large", flag);
    return (int)n;
}

static double share_arg(const char *flag, const char *v)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || end == v || !(d >= 0 && d <= 1))
        die("%s needs a share from 0 to 1, got '%s'", flag, v);
    return d;
}

static void parse(int argc, char **argv, options *o)
{
    *o = (options){.ms_min = 20,
                   .ms_max = 50,
                   .chain = true,
                   .diamond = true,
                   .fanout = true,
                   .seed = 1,
                   .transient_max = 2,
                   .bytes = -1,
                   .timeout_s = 120};
    for (int i = 2; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(f, "--twice") == 0) {
            o->twice = true;
            continue;
        }
        if (!v)
            die("%s needs a value", f);
        i++;
        if (strcmp(f, "--count") == 0)
            o->count = int_arg(f, v);
        else if (strcmp(f, "--out") == 0)
            o->out = v;
        else if (strcmp(f, "--record") == 0)
            o->record = v;
        else if (strcmp(f, "--ms") == 0) {
            if (sscanf(v, "%d:%d", &o->ms_min, &o->ms_max) != 2 || o->ms_min < 0 ||
                o->ms_max < o->ms_min)
                die("--ms wants MIN:MAX, got '%s'", v);
        } else if (strcmp(f, "--shapes") == 0) {
            o->chain = strstr(v, "chain") != NULL;
            o->diamond = strstr(v, "diamond") != NULL;
            o->fanout = strstr(v, "fanout") != NULL;
            if (!o->chain && !o->diamond && !o->fanout)
                die("--shapes wants chain, diamond and/or fanout, got '%s'", v);
        } else if (strcmp(f, "--chain-len") == 0)
            o->chain_len = int_arg(f, v);
        else if (strcmp(f, "--rate") == 0)
            o->rate = int_arg(f, v);
        else if (strcmp(f, "--seed") == 0)
            o->seed = (uint64_t)int_arg(f, v) * 0x9e3779b97f4a7c15ULL + 1;
        else if (strcmp(f, "--transient") == 0)
            o->transient = share_arg(f, v);
        else if (strcmp(f, "--transient-max") == 0)
            o->transient_max = int_arg(f, v);
        else if (strcmp(f, "--permanent") == 0)
            o->permanent = share_arg(f, v);
        else if (strcmp(f, "--by-message-id") == 0)
            o->by_message_id = share_arg(f, v);
        else if (strcmp(f, "--expect") == 0)
            o->expect = int_arg(f, v);
        else if (strcmp(f, "--bytes") == 0)
            o->bytes = ll_arg(f, v);
        else if (strcmp(f, "--kinds") == 0)
            o->kinds = v;
        else if (strcmp(f, "--timeout") == 0)
            o->timeout_s = int_arg(f, v);
        else if (strcmp(f, "--trace") == 0)
            o->trace = v;
        else
            die("unknown flag %s", f);
    }
    if (o->transient_max < 1 || o->transient_max > 5)
        die("--transient-max wants 1..5 (the load's retry policy allows 10 retries, kills too)");
    rng_state = o->seed;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: fault_load submit|hostile|dead-drain|dead-check|queues|handoff-trace [flags]");
    options o;
    parse(argc, argv, &o);
    const char *cmd = argv[1];
    if (strcmp(cmd, "submit") == 0)
        return cmd_submit(&o);
    if (strcmp(cmd, "hostile") == 0)
        return cmd_hostile(&o);
    if (strcmp(cmd, "dead-drain") == 0)
        return cmd_dead_drain();
    if (strcmp(cmd, "dead-check") == 0)
        return cmd_dead_check(&o);
    if (strcmp(cmd, "queues") == 0)
        return cmd_queues();
    if (strcmp(cmd, "handoff-trace") == 0)
        return cmd_handoff_trace(&o);
    die("unknown command %s", cmd);
}

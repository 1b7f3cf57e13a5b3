/* Parse and validate a workflow definition (DESIGN §3). The document is checked in
 * passes — each activity's shape in document order, then unique names, then
 * depends_on resolution, then cycles — and the first problem found is reported, so the
 * same document always yields the same message. Names are sorted once so duplicate
 * detection and dependency resolution stay O(n log n) for 10,000 activities. */
#include "definition.h"

#include "alloc.h"
#include "dag.h"
#include "queues.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds on what one activity may ask for; beyond them a value is almost surely a typo. */
#define MAX_RETRIES_LIMIT 100
#define MAX_TIMEOUT_S 86400

#define NAME_CHARS "A-Z a-z 0-9 _ . -"

/* "activity 'x'" or "activities[i]": the subject every message starts with. */
typedef struct {
    char s[WEFT_MAX_NAME_LEN + 32];
} where_buf;

/* A user-supplied string made safe for a one-line message. */
#define SHOW_MAX 64
typedef struct {
    char s[SHOW_MAX * 4 + 4];
} shown;

static const char *const top_fields[] = {"name", "activities", "max_parallel", NULL};
static const char *const activity_fields[] = {
    "name", "task", "params", "depends_on", "retry", "timeout_s", "priority", "queue",
    "heartbeat_s", "map", "concurrency", NULL};
static const char *const concurrency_fields[] = {"key", "limit", NULL};
static const char *const map_fields[] = {"over", "max_parallel", NULL};

/* How deep inline child definitions may nest (depth, below, counts them): a definition is
 * data, and a deeply nested one is a mistake (or an attack on the stack), not a design. */
#define MAX_CHILD_DEPTH 8
static const char *const retry_fields[] = {"max_retries", "initial_delay_ms", "backoff",
                                           "max_delay_ms", NULL};

weft_retry_policy weft_retry_policy_default(void)
{
    return (weft_retry_policy){
        .max_retries = WEFT_DEFAULT_MAX_RETRIES,
        .initial_delay_ms = WEFT_DEFAULT_INITIAL_DELAY_MS,
        .backoff = WEFT_DEFAULT_BACKOFF,
        .max_delay_ms = WEFT_DEFAULT_MAX_DELAY_MS,
    };
}

static bool name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

bool weft_name_valid(const char *name)
{
    if (!name)
        return false;
    size_t len = 0;
    for (const char *p = name; *p; p++, len++)
        if (len == WEFT_MAX_NAME_LEN || !name_char(*p))
            return false;
    return len > 0;
}

/* Error messages must stay one line and readable whatever the document holds: control
 * bytes, quotes and non-ASCII are escaped, and long values are cut so one bad value
 * cannot crowd out the rest of the message. */
static const char *show(shown *out, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && i < SHOW_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'' || c == '\\')
            o += (size_t)snprintf(out->s + o, sizeof out->s - o, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            out->s[o++] = (char)c;
        else
            o += (size_t)snprintf(out->s + o, sizeof out->s - o, "\\x%02x", c);
    }
    if (len > SHOW_MAX)
        o += (size_t)snprintf(out->s + o, sizeof out->s - o, "...");
    out->s[o] = '\0';
    return out->s;
}

static const char *show_str(shown *out, const json_t *v)
{
    return show(out, json_string_value(v), json_string_length(v));
}

/* What a value is, for "..., got X": the value itself for numbers, its type otherwise. */
static const char *describe(char *buf, size_t len, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    case JSON_REAL: {
        /* 30.0 must not read as 30 when the complaint is that it is not an integer. */
        double x = json_real_value(v);
        bool integral = x > -1e15 && x < 1e15 && x == (double)(long long)x;
        snprintf(buf, len, "%.15g%s", x, integral ? ".0" : "");
        return buf;
    }
    case JSON_STRING:
        return "a string";
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "an unknown JSON type";
}

static void where_index(where_buf *w, size_t i)
{
    snprintf(w->s, sizeof w->s, "activities[%zu]", i);
}

static void where_name(where_buf *w, const char *prefix, const char *name)
{
    snprintf(w->s, sizeof w->s, "%s '%s'", prefix, name);
}

/* A string with an embedded NUL would pass as its prefix; such a string is never a name. */
static bool json_name_valid(const json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v) &&
           weft_name_valid(json_string_value(v));
}

/* Checks that v (may be NULL: absent) is a valid name for `field`; `required_hint` says
 * what the field is for when it is missing. */
static weft_status check_name(const json_t *v, const char *where, const char *field,
                              const char *required_hint, weft_err *err)
{
    char d[64];
    shown s;
    if (!v)
        return weft_err_set(err, WEFT_EINVAL, "%s: %s is required (%s)", where, field,
                            required_hint);
    if (!json_is_string(v))
        return weft_err_set(err, WEFT_EINVAL, "%s: %s must be a string, got %s", where, field,
                            describe(d, sizeof d, v));
    const char *str = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0)
        return weft_err_set(err, WEFT_EINVAL,
                            "%s: %s is empty; use 1-%d characters from " NAME_CHARS, where, field,
                            WEFT_MAX_NAME_LEN);
    if (len > WEFT_MAX_NAME_LEN)
        return weft_err_set(err, WEFT_EINVAL, "%s: %s '%s' is %zu characters long; the limit is %d",
                            where, field, show(&s, str, len), len, WEFT_MAX_NAME_LEN);
    for (size_t i = 0; i < len; i++) {
        if (!name_char(str[i])) {
            shown c;
            return weft_err_set(err, WEFT_EINVAL,
                                "%s: %s '%s' contains the character '%s'; use only " NAME_CHARS,
                                where, field, show(&s, str, len), show(&c, str + i, 1));
        }
    }
    return WEFT_OK;
}

/* Rejects keys outside `known`: a misspelt optional field would otherwise be silently
 * ignored and its default used instead. */
static weft_status check_fields(const json_t *obj, const char *const *known, const char *where,
                                const char *prefix, weft_err *err)
{
    /* jansson's iteration API takes a non-const object; it is only read here. */
    json_t *o = (json_t *)obj;
    const char *key;
    json_t *value;
    json_object_foreach(o, key, value)
    {
        size_t k = 0;
        while (known[k] && strcmp(known[k], key) != 0)
            k++;
        if (known[k])
            continue;
        char list[256];
        size_t pos = 0;
        list[0] = '\0';
        for (k = 0; known[k]; k++)
            pos += (size_t)snprintf(list + pos, sizeof list - pos, "%s%s", k ? ", " : "", known[k]);
        shown s;
        return weft_err_set(err, WEFT_EINVAL, "%s: unknown field '%s%s' (known: %s)", where, prefix,
                            show(&s, key, strlen(key)), list);
    }
    return WEFT_OK;
}

/* The fields of a named object (the workflow, an activity) and its name: the name goes into
 * w first when usable, so that every message, also those about other fields, names it. */
static weft_status check_named(const json_t *obj, const char *const *known, const char *kind,
                               const char *hint, where_buf *w, weft_err *err)
{
    const json_t *name = json_object_get(obj, "name");
    if (json_name_valid(name))
        where_name(w, kind, json_string_value(name));
    weft_status st = check_fields(obj, known, w->s, "", err);
    return st ? st : check_name(name, w->s, "name", hint, err);
}

/* Optional integer field in [lo, hi]; *out is left alone when absent. Integer fields need
 * JSON integers: 30.0 is refused rather than guessed at. */
static weft_status int_field(const json_t *obj, const char *key, const char *label, long long lo,
                             long long hi, int *out, const char *where, weft_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return WEFT_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char d[64];
        return weft_err_set(err, WEFT_EINVAL, "%s: %s must be an integer from %lld to %lld, got %s",
                            where, label, lo, hi, describe(d, sizeof d, v));
    }
    *out = (int)json_integer_value(v);
    return WEFT_OK;
}

/* Optional number field in [lo, hi] (hi may be INFINITY); *present says whether it was
 * given, *out is left alone when it was not. */
static weft_status num_field(const json_t *obj, const char *key, const char *label, double lo,
                             double hi, double *out, bool *present, const char *where,
                             weft_err *err)
{
    const json_t *v = json_object_get(obj, key);
    *present = v != NULL;
    if (!v)
        return WEFT_OK;
    double x = json_is_number(v) ? json_number_value(v) : NAN;
    if (!isfinite(x) || x < lo || x > hi) {
        char d[64], range[64];
        if (isinf(hi))
            snprintf(range, sizeof range, ">= %.15g", lo);
        else
            snprintf(range, sizeof range, "from %.15g to %.15g", lo, hi);
        return weft_err_set(err, WEFT_EINVAL, "%s: %s must be a number %s, got %s", where, label,
                            range, describe(d, sizeof d, v));
    }
    *out = x;
    return WEFT_OK;
}

/* A default yields to an explicit value: when only one of the two delays is given, the
 * other default moves so that initial_delay_ms <= max_delay_ms still holds. */
static weft_status parse_retry(const json_t *r, const char *where, weft_retry_policy *out,
                               weft_err *err)
{
    weft_status st;
    char d[64];
    bool has_initial, has_max, has_backoff;
    if (!json_is_object(r))
        return weft_err_set(err, WEFT_EINVAL, "%s: retry must be an object, got %s", where,
                            describe(d, sizeof d, r));
    if ((st = check_fields(r, retry_fields, where, "retry.", err)) ||
        (st = int_field(r, "max_retries", "retry.max_retries", 0, MAX_RETRIES_LIMIT,
                        &out->max_retries, where, err)) ||
        (st = num_field(r, "initial_delay_ms", "retry.initial_delay_ms", 0, WEFT_MAX_DELAY_LIMIT_MS,
                        &out->initial_delay_ms, &has_initial, where, err)) ||
        (st = num_field(r, "backoff", "retry.backoff", 1, INFINITY, &out->backoff, &has_backoff,
                        where, err)) ||
        (st = num_field(r, "max_delay_ms", "retry.max_delay_ms", 0, WEFT_MAX_DELAY_LIMIT_MS,
                        &out->max_delay_ms, &has_max, where, err)))
        return st;
    if (has_initial && !has_max && out->max_delay_ms < out->initial_delay_ms)
        out->max_delay_ms = out->initial_delay_ms;
    else if (has_max && !has_initial && out->initial_delay_ms > out->max_delay_ms)
        out->initial_delay_ms = out->max_delay_ms;
    else if (out->max_delay_ms < out->initial_delay_ms)
        return weft_err_set(err, WEFT_EINVAL,
                            "%s: retry.max_delay_ms (%.15g) must be >= retry.initial_delay_ms "
                            "(%.15g)",
                            where, out->max_delay_ms, out->initial_delay_ms);
    return WEFT_OK;
}

/* "concurrency": {"key": K, "limit": N}: K names a member of the merged input (any
 * non-empty text without NUL), N is how many attempts may run at once per value of it. */
static weft_status parse_concurrency(const json_t *c, const char *where, weft_activity_def *out,
                                     weft_err *err)
{
    char d[64];
    if (!json_is_object(c))
        return weft_err_set(err, WEFT_EINVAL,
                            "%s: concurrency must be an object {\"key\": NAME, \"limit\": N},"
                            " got %s",
                            where, describe(d, sizeof d, c));
    weft_status st = check_fields(c, concurrency_fields, where, "concurrency.", err);
    if (st)
        return st;
    const json_t *key = json_object_get(c, "key");
    if (!key)
        return weft_err_set(err, WEFT_EINVAL,
                            "%s: concurrency.key is missing: name the member of the activity's"
                            " input whose values it counts",
                            where);
    if (!json_is_string(key) || json_string_length(key) == 0 ||
        json_string_length(key) > WEFT_MAX_NAME_LEN ||
        strlen(json_string_value(key)) != json_string_length(key))
        return weft_err_set(err, WEFT_EINVAL,
                            "%s: concurrency.key must be the name of a member of the activity's"
                            " input (1 to %d characters, no NUL), got %s",
                            where, WEFT_MAX_NAME_LEN, describe(d, sizeof d, key));
    if (!json_object_get(c, "limit"))
        return weft_err_set(err, WEFT_EINVAL, "%s: concurrency.limit is missing", where);
    int limit = 0;
    if ((st = int_field(c, "limit", "concurrency.limit", 1, WEFT_MAX_CONCURRENCY_LIMIT, &limit,
                        where, err)))
        return st;
    out->concurrency_key = weft_xstrdup(json_string_value(key));
    out->concurrency_limit = limit;
    return WEFT_OK;
}

/* heartbeat_s, after timeout_s: a silence limit the timeout always reaches first would
 * never fire, which is surely not what its writer meant. */
static weft_status parse_heartbeat(const json_t *a, const char *where, weft_activity_def *out,
                                   weft_err *err)
{
    out->heartbeat_s = 0;
    weft_status st =
        int_field(a, "heartbeat_s", "heartbeat_s", 1, MAX_TIMEOUT_S, &out->heartbeat_s, where, err);
    if (st || !out->heartbeat_s || !out->timeout_s || out->heartbeat_s < out->timeout_s)
        return st;
    return weft_err_set(err, WEFT_EINVAL,
                        "%s: heartbeat_s (%d) must be less than timeout_s (%d), which would end"
                        " the attempt first",
                        where, out->heartbeat_s, out->timeout_s);
}

/* Checks one activity's shape and fills out everything but deps' indices, which need every
 * name first. */
static weft_status parse_composition(const json_t *a, const char *where,
                                     const weft_limits *limits, const weft_task_registry *tasks,
                                     int depth, weft_activity_def *out, weft_err *err);
static weft_status parse_definition(const json_t *doc, const weft_limits *limits,
                                    const weft_task_registry *tasks, int depth,
                                    weft_definition **out, weft_err *err);

static weft_status parse_activity(const json_t *a, size_t i, const weft_limits *limits,
                                  const weft_task_registry *tasks, int depth,
                                  weft_activity_def *out, weft_err *err)
{
    weft_status st;
    where_buf w;
    char d[64];
    shown s;

    where_index(&w, i);
    if (!json_is_object(a))
        return weft_err_set(err, WEFT_EINVAL, "%s: must be an object, got %s", w.s,
                            describe(d, sizeof d, a));
    if ((st = check_named(a, activity_fields, "activity",
                          "the activity's name, unique in the workflow", &w, err)))
        return st;
    out->name = weft_xstrdup(json_string_value(json_object_get(a, "name")));

    const json_t *task = json_object_get(a, "task");
    if ((st = check_name(task, w.s, "task", "a registered task type", err)))
        return st;
    if (tasks && strcmp(json_string_value(task), WEFT_TASK_WORKFLOW) != 0 &&
        !weft_task_known(tasks, json_string_value(task))) {
        char *known = weft_task_list(tasks);
        weft_err_set(err, WEFT_ENOTFOUND, "%s: unknown task '%s' (known: %s)", w.s,
                     json_string_value(task), known);
        free(known);
        return WEFT_ENOTFOUND;
    }
    out->task = weft_xstrdup(json_string_value(task));

    const json_t *queue = json_object_get(a, "queue");
    if (queue && (st = check_name(queue, w.s, "queue", "", err)))
        return st;
    out->queue = weft_xstrdup(queue ? json_string_value(queue) : WEFT_QUEUE_DEFAULT);

    const json_t *concurrency = json_object_get(a, "concurrency");
    if (concurrency && (st = parse_concurrency(concurrency, w.s, out, err)))
        return st;

    const json_t *params = json_object_get(a, "params");
    if (params && !json_is_object(params))
        return weft_err_set(err, WEFT_EINVAL, "%s: params must be an object, got %s", w.s,
                            describe(d, sizeof d, params));
    out->params = params ? json_incref((json_t *)params) : json_object();
    if (!out->params)
        abort(); /* jansson reports exhaustion as NULL; weft aborts on it (alloc.h) */

    const json_t *deps = json_object_get(a, "depends_on");
    if (deps && !json_is_array(deps))
        return weft_err_set(err, WEFT_EINVAL,
                            "%s: depends_on must be an array of activity names, got %s", w.s,
                            describe(d, sizeof d, deps));
    for (size_t k = 0; k < json_array_size(deps); k++) {
        const json_t *dep = json_array_get(deps, k);
        if (!json_is_string(dep))
            return weft_err_set(err, WEFT_EINVAL,
                                "%s: depends_on[%zu] must be a string (an activity name), got %s",
                                w.s, k, describe(d, sizeof d, dep));
        if (strlen(json_string_value(dep)) != json_string_length(dep))
            return weft_err_set(err, WEFT_EINVAL,
                                "%s: depends_on[%zu] '%s' contains a NUL character", w.s, k,
                                show_str(&s, dep));
    }
    out->ndeps = json_array_size(deps);
    out->deps = out->ndeps ? weft_xcalloc(out->ndeps, sizeof *out->deps) : NULL;

    out->retry = weft_retry_policy_default();
    const json_t *retry = json_object_get(a, "retry");
    if (retry && (st = parse_retry(retry, w.s, &out->retry, err)))
        return st;
    out->timeout_s = 0;
    out->priority = 0;
    if ((st =
             int_field(a, "timeout_s", "timeout_s", 1, MAX_TIMEOUT_S, &out->timeout_s, w.s, err)) ||
        (st = int_field(a, "priority", "priority", 0, WEFT_MAX_PRIORITY, &out->priority, w.s, err)))
        return st;
    if ((st = parse_heartbeat(a, w.s, out, err)))
        return st;
    return parse_composition(a, w.s, limits, tasks, depth, out, err);
}

/* `map` (DESIGN §11): {"over": KEY, "max_parallel": N}, N defaulting to
 * WEFT_DEFAULT_MAP_PARALLEL; and a `workflow` task's params: {"definition": NAME or an inline
 * definition, "version": N}, an inline one validated here like the workflow itself. */
static weft_status parse_composition(const json_t *a, const char *where,
                                     const weft_limits *limits, const weft_task_registry *tasks,
                                     int depth, weft_activity_def *out, weft_err *err)
{
    char d[64];
    weft_status st;
    const json_t *map = json_object_get(a, "map");
    if (map) {
        char mw[WEFT_MAX_NAME_LEN + 48];
        snprintf(mw, sizeof mw, "%s: map", where);
        if (!json_is_object(map))
            return weft_err_set(err, WEFT_EINVAL,
                                "%s must be an object {\"over\": KEY, \"max_parallel\": N}, got %s",
                                mw, describe(d, sizeof d, map));
        if ((st = check_fields(map, map_fields, mw, "", err)))
            return st;
        const json_t *over = json_object_get(map, "over");
        if (!json_is_string(over) || json_string_length(over) == 0 ||
            strlen(json_string_value(over)) != json_string_length(over))
            return weft_err_set(err, WEFT_EINVAL,
                                "%s: over must be the name of an input key (a non-empty string), "
                                "got %s",
                                mw, over ? describe(d, sizeof d, over) : "nothing");
        int parallel = WEFT_DEFAULT_MAP_PARALLEL;
        if ((st = int_field(map, "max_parallel", "max_parallel", 1, (long long)limits->max_activities,
                            &parallel, mw, err)))
            return st;
        out->map_over = weft_xstrdup(json_string_value(over));
        out->map_max_parallel = parallel;
    }
    if (strcmp(out->task, WEFT_TASK_WORKFLOW) != 0)
        return WEFT_OK;
    char pw[WEFT_MAX_NAME_LEN + 48];
    snprintf(pw, sizeof pw, "%s: params", where);
    const json_t *def = json_object_get(out->params, "definition");
    const json_t *version = json_object_get(out->params, "version");
    int v = 1;
    if (json_is_string(def)) {
        if (!weft_name_valid(json_string_value(def)))
            return weft_err_set(err, WEFT_EINVAL,
                                "%s: definition '%s' is not a valid definition name (%s)", pw,
                                json_string_value(def), NAME_CHARS);
        return int_field(out->params, "version", "version", 1, INT_MAX, &v, pw, err);
    }
    if (!json_is_object(def))
        return weft_err_set(err, WEFT_EINVAL,
                            "%s: definition must name a stored definition or be an inline "
                            "definition object, got %s",
                            pw, def ? describe(d, sizeof d, def) : "nothing");
    if (version)
        return weft_err_set(err, WEFT_EINVAL,
                            "%s: version applies to a stored definition, not an inline one", pw);
    if (depth >= MAX_CHILD_DEPTH)
        return weft_err_set(err, WEFT_EINVAL, "%s: inline child definitions nest deeper than %d",
                            pw, MAX_CHILD_DEPTH);
    weft_definition *child;
    st = parse_definition(def, limits, tasks, depth + 1, &child, err);
    weft_definition_destroy(child);
    if (st)
        weft_err_prefix(err, "%s: definition: ", pw);
    return st;
}

typedef struct {
    const char *name;
    size_t index;
} name_entry;

/* By name, then by position, so the first of a set of equal names comes first. */
static int cmp_entry(const void *a, const void *b)
{
    const name_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

static int cmp_key(const void *key, const void *entry)
{
    return strcmp(key, ((const name_entry *)entry)->name);
}

/* Among all repeated names, reports the repeat that comes first in the document: the
 * second entry of each run of equal names is that name's first repeat. */
static weft_status check_unique(const name_entry *sorted, size_t n, weft_err *err)
{
    const name_entry *repeat = NULL;
    for (size_t k = 1; k < n; k++) {
        bool second_of_run = strcmp(sorted[k].name, sorted[k - 1].name) == 0 &&
                             (k == 1 || strcmp(sorted[k - 2].name, sorted[k].name) != 0);
        if (second_of_run && (!repeat || sorted[k].index < repeat->index))
            repeat = &sorted[k];
    }
    if (!repeat)
        return WEFT_OK;
    return weft_err_set(err, WEFT_EINVAL,
                        "activities[%zu]: name '%s' is already used by activities[%zu]; names "
                        "must be unique in a workflow",
                        repeat->index, repeat->name, repeat[-1].index);
}

static weft_status resolve_deps(const json_t *acts, weft_definition *def, const name_entry *sorted,
                                weft_err *err)
{
    /* listed_by[j] == i + 1 when activity i's list already named j: finds repeats within
     * one list in O(edges) without sorting each list. */
    size_t *listed_by = weft_xcalloc(def->n, sizeof *listed_by);
    weft_status st = WEFT_OK;
    for (size_t i = 0; i < def->n && !st; i++) {
        weft_activity_def *a = &def->activities[i];
        const json_t *deps = json_object_get(json_array_get(acts, i), "depends_on");
        for (size_t k = 0; k < a->ndeps && !st; k++) {
            const json_t *dep = json_array_get(deps, k);
            const name_entry *e =
                bsearch(json_string_value(dep), sorted, def->n, sizeof *sorted, cmp_key);
            shown s;
            if (!e)
                st = weft_err_set(err, WEFT_EINVAL,
                                  "activity '%s': depends_on names unknown activity '%s'", a->name,
                                  show_str(&s, dep));
            else if (e->index == i)
                st = weft_err_set(err, WEFT_EINVAL, "activity '%s': depends_on names itself",
                                  a->name);
            else if (listed_by[e->index] == i + 1)
                st = weft_err_set(err, WEFT_EINVAL,
                                  "activity '%s': depends_on lists '%s' more than once", a->name,
                                  e->name);
            else {
                listed_by[e->index] = i + 1;
                a->deps[k] = e->index;
            }
        }
    }
    free(listed_by);
    return st;
}

static weft_status parse_activities(const json_t *acts, const char *where,
                                    const weft_limits *limits, const weft_task_registry *tasks,
                                    int depth, weft_definition *def, weft_err *err)
{
    char d[64];
    if (!acts)
        return weft_err_set(err, WEFT_EINVAL,
                            "%s: activities is required (a non-empty array of activities)", where);
    if (!json_is_array(acts) || json_array_size(acts) == 0)
        return weft_err_set(err, WEFT_EINVAL,
                            "%s: activities must be a non-empty array of activities, got %s", where,
                            json_is_array(acts) ? "[]" : describe(d, sizeof d, acts));
    size_t n = json_array_size(acts);
    if (n > limits->max_activities)
        return weft_err_set(err, WEFT_ETOOBIG,
                            "%s: %zu activities is over the limit of %zu per workflow", where, n,
                            limits->max_activities);

    def->activities = weft_xcalloc(n, sizeof *def->activities);
    def->n = n;
    weft_status st = WEFT_OK;
    for (size_t i = 0; i < n && !st; i++)
        st = parse_activity(json_array_get(acts, i), i, limits, tasks, depth, &def->activities[i],
                            err);
    if (st)
        return st;

    name_entry *sorted = weft_xmalloc(n * sizeof *sorted);
    for (size_t i = 0; i < n; i++)
        sorted[i] = (name_entry){def->activities[i].name, i};
    qsort(sorted, n, sizeof *sorted, cmp_entry);
    st = check_unique(sorted, n, err);
    if (st == WEFT_OK)
        st = resolve_deps(acts, def, sorted, err);
    free(sorted);
    return st;
}

void weft_definition_destroy(weft_definition *def)
{
    if (!def)
        return;
    for (size_t i = 0; i < def->n; i++) {
        free(def->activities[i].name);
        free(def->activities[i].task);
        free(def->activities[i].queue);
        free(def->activities[i].concurrency_key);
        free(def->activities[i].map_over);
        json_decref(def->activities[i].params);
        free(def->activities[i].deps);
    }
    free(def->activities);
    free(def->name);
    free(def);
}

weft_status weft_definition_parse(const json_t *doc, const weft_limits *limits,
                                  const weft_task_registry *tasks, weft_definition **out,
                                  weft_err *err)
{
    return parse_definition(doc, limits, tasks, 0, out, err);
}

/* depth: how many inline child definitions this one is nested in. */
static weft_status parse_definition(const json_t *doc, const weft_limits *limits,
                                    const weft_task_registry *tasks, int depth,
                                    weft_definition **out, weft_err *err)
{
    weft_limits defaults = WEFT_LIMITS_DEFAULT;
    char d[64];
    where_buf w;
    weft_status st;

    *out = NULL;
    if (!limits)
        limits = &defaults;
    if (!json_is_object(doc))
        return weft_err_set(err, WEFT_EINVAL, "workflow definition must be a JSON object, got %s",
                            doc ? describe(d, sizeof d, doc) : "nothing");
    snprintf(w.s, sizeof w.s, "workflow");
    if ((st = check_named(doc, top_fields, "workflow", "the workflow's name", &w, err)))
        return st;
    const json_t *name = json_object_get(doc, "name");

    weft_definition *def = weft_xcalloc(1, sizeof *def);
    def->name = weft_xstrdup(json_string_value(name));
    def->max_parallel = WEFT_DEFAULT_WORKFLOW_PARALLEL;
    st = int_field(doc, "max_parallel", "max_parallel", 1, (long long)limits->max_activities,
                   &def->max_parallel, w.s, err);
    if (st == WEFT_OK)
        st = parse_activities(json_object_get(doc, "activities"), w.s, limits, tasks, depth, def,
                              err);
    if (st == WEFT_OK)
        st = weft_dag_check_acyclic(def, err);
    if (st)
        weft_definition_destroy(def);
    *out = st ? NULL : def;
    return st;
}

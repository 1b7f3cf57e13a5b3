/* Specification of workflow definition parsing (DESIGN §3). Most cases are data:
 * every tests/data/definitions/valid/ file must parse, and each invalid/X.json must fail with
 * the text of invalid/X.err somewhere in its message. Cases too large for a file are
 * generated here. */
#include "clock.h"
#include "definition.h"

#include "weft_limits.h"
#include "task.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static weft_task_result dummy_task(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                   size_t errlen)
{
    *output = json_object();
    return WEFT_TASK_OK;
}

static weft_task_registry *test_registry(void)
{
    static const char *const names[] = {"noop",      "sleep",        "fail",        "http.fetch",
                                        "file.load", "text.replace", "text.summary"};
    weft_task_registry *r = weft_task_registry_create();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert(weft_task_register(r, names[i], dummy_task), "registering %s", names[i]);
    return r;
}

static weft_status parse_text(const char *text, const weft_limits *limits, weft_definition **def,
                              weft_err *err)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    cr_assert_not_null(doc, "test JSON does not parse: %s", jerr.text);
    weft_task_registry *r = test_registry();
    weft_status st = weft_definition_parse(doc, limits, r, def, err);
    weft_task_registry_destroy(r);
    json_decref(doc);
    return st;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted .json paths in WEFT_TEST_DATA_DIR/definitions/<sub>. */
static char **list_cases(const char *sub, size_t *n)
{
    const char *root = getenv("WEFT_TEST_DATA_DIR");
    cr_assert(root && *root, "WEFT_TEST_DATA_DIR must point at tests/data");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/definitions/%s", root, sub);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    char **paths = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        paths = realloc(paths, (count + 1) * sizeof *paths);
        cr_assert_not_null(paths);
        size_t plen = strlen(dir) + 1 + len + 1;
        paths[count] = malloc(plen);
        cr_assert_not_null(paths[count]);
        snprintf(paths[count], plen, "%s/%s", dir, e->d_name);
        count++;
    }
    closedir(d);
    cr_assert_gt(count, 0, "no .json cases in %s", dir);
    qsort(paths, count, sizeof *paths, cmp_path);
    *n = count;
    return paths;
}

static void free_cases(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

/* The expected message fragment: X.err beside X.json, without its trailing newline. */
static char *read_expected(const char *json_path)
{
    char path[4096];
    snprintf(path, sizeof path, "%.*s.err", (int)(strlen(json_path) - 5), json_path);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s has no .err file beside it", json_path);
    static char buf[1024];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    cr_assert_gt(len, 0, "%s is empty", path);
    return buf;
}

Test(definition_files, every_valid_definition_parses)
{
    size_t n;
    char **paths = list_cases("valid", &n);
    weft_task_registry *r = test_registry();
    weft_limits limits = WEFT_LIMITS_DEFAULT;
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *doc = json_load_file(paths[i], JSON_ALLOW_NUL, &jerr);
        cr_expect_not_null(doc, "%s: not JSON: %s", paths[i], jerr.text);
        if (!doc)
            continue;
        weft_definition *def = NULL;
        weft_err err = {0};
        weft_status st = weft_definition_parse(doc, &limits, r, &def, &err);
        cr_expect_eq(st, WEFT_OK, "%s: %s", paths[i], err.msg);
        cr_expect(st != WEFT_OK || def != NULL, "%s: no definition returned", paths[i]);
        weft_definition_destroy(def);
        json_decref(doc);
    }
    weft_task_registry_destroy(r);
    free_cases(paths, n);
}

Test(definition_files, every_invalid_definition_fails_with_its_expected_message)
{
    size_t n;
    char **paths = list_cases("invalid", &n);
    weft_task_registry *r = test_registry();
    weft_limits limits = WEFT_LIMITS_DEFAULT;
    for (size_t i = 0; i < n; i++) {
        const char *want = read_expected(paths[i]);
        json_error_t jerr;
        json_t *doc = json_load_file(paths[i], JSON_ALLOW_NUL, &jerr);
        cr_expect_not_null(doc, "%s: not JSON: %s", paths[i], jerr.text);
        if (!doc)
            continue;
        static weft_definition sentinel;
        weft_definition *def = &sentinel; /* a failed parse must reset *out to NULL */
        weft_err err = {0};
        weft_status st = weft_definition_parse(doc, &limits, r, &def, &err);
        cr_expect_neq(st, WEFT_OK, "%s: parsed but should not", paths[i]);
        cr_expect_eq(err.status, st, "%s: err.status disagrees with the returned status", paths[i]);
        cr_expect_null(def, "%s: *out not NULL on failure", paths[i]);
        cr_expect(strstr(err.msg, want) != NULL, "%s:\n  message  \"%s\"\n  expected \"%s\"",
                  paths[i], err.msg, want);
        cr_expect(strchr(err.msg, '\n') == NULL, "%s: message is not one line", paths[i]);
        if (st == WEFT_OK && def != &sentinel)
            weft_definition_destroy(def);
        json_decref(doc);
    }
    weft_task_registry_destroy(r);
    free_cases(paths, n);
}

Test(definition, omitted_fields_take_the_documented_defaults)
{
    weft_definition *def;
    weft_err err = {0};
    cr_assert_eq(parse_text("{\"name\": \"w\", \"activities\": [{\"name\": \"a\", \"task\": "
                            "\"noop\"}]}",
                            NULL, &def, &err),
                 WEFT_OK, "%s", err.msg);
    const weft_activity_def *a = &def->activities[0];
    cr_expect_eq(a->retry.max_retries, 3);
    cr_expect_float_eq(a->retry.initial_delay_ms, WEFT_DEFAULT_INITIAL_DELAY_MS, 1e-9);
    cr_expect_float_eq(a->retry.backoff, WEFT_DEFAULT_BACKOFF, 1e-9);
    cr_expect_float_eq(a->retry.max_delay_ms, WEFT_DEFAULT_MAX_DELAY_MS, 1e-9);
    cr_expect_eq(a->timeout_s, 0, "no timeout unless set");
    cr_expect_eq(a->priority, 0);
    cr_expect_eq(a->heartbeat_s, 0, "silence is not watched unless heartbeat_s is set");
    cr_expect(json_is_object(a->params) && json_object_size(a->params) == 0,
              "params is {} when absent");
    cr_expect_eq(a->ndeps, 0);
    cr_expect_str_eq(a->queue, "default", "attempts go to `default` unless a queue is named");
    weft_definition_destroy(def);
}

Test(definition, heartbeat_s_is_kept_beside_a_longer_timeout)
{
    weft_definition *def;
    weft_err err = {0};
    cr_assert_eq(parse_text("{\"name\": \"w\", \"activities\": ["
                            "{\"name\": \"a\", \"task\": \"sleep\", \"heartbeat_s\": 5},"
                            "{\"name\": \"b\", \"task\": \"sleep\", \"heartbeat_s\": 5,"
                            " \"timeout_s\": 6}]}",
                            NULL, &def, &err),
                 WEFT_OK, "%s", err.msg);
    cr_expect_eq(def->activities[0].heartbeat_s, 5);
    cr_expect_eq(def->activities[1].heartbeat_s, 5);
    cr_expect_eq(def->activities[1].timeout_s, 6);
    weft_definition_destroy(def);
}

Test(definition, a_named_queue_is_kept)
{
    weft_definition *def;
    weft_err err = {0};
    cr_assert_eq(parse_text("{\"name\": \"w\", \"activities\": ["
                            "{\"name\": \"a\", \"task\": \"noop\", \"queue\": \"gpu.big-1\"},"
                            "{\"name\": \"b\", \"task\": \"noop\", \"queue\": \"default\"}]}",
                            NULL, &def, &err),
                 WEFT_OK, "%s", err.msg);
    cr_expect_str_eq(def->activities[0].queue, "gpu.big-1");
    cr_expect_str_eq(def->activities[1].queue, "default");
    weft_definition_destroy(def);
}

Test(definition, an_unknown_task_is_not_found_and_the_known_ones_are_listed)
{
    weft_definition *def;
    weft_err err = {0};
    cr_assert_eq(parse_text("{\"name\": \"w\", \"activities\": ["
                            "{\"name\": \"resize\", \"task\": \"resise_image\"}]}",
                            NULL, &def, &err),
                 WEFT_ENOTFOUND, "a fresher registry may know it: %s", err.msg);
    cr_expect_str_eq(err.msg,
                     "activity 'resize': unknown task 'resise_image' (known: fail, file.load, "
                     "http.fetch, noop, sleep, text.replace, text.summary)");
}

Test(definition, default_retry_policy_matches_the_limits_constants)
{
    weft_retry_policy p = weft_retry_policy_default();
    cr_expect_eq(p.max_retries, WEFT_DEFAULT_MAX_RETRIES);
    cr_expect_eq(p.max_retries, 3, "DESIGN §3: max_retries 3");
    cr_expect_float_eq(p.initial_delay_ms, WEFT_DEFAULT_INITIAL_DELAY_MS, 1e-9);
    cr_expect_float_eq(p.backoff, WEFT_DEFAULT_BACKOFF, 1e-9);
    cr_expect_float_eq(p.max_delay_ms, WEFT_DEFAULT_MAX_DELAY_MS, 1e-9);
    cr_expect_geq(p.backoff, 1.0, "backoff is exponential");
}

Test(definition, explicit_fields_are_kept_and_dependencies_resolve_in_listed_order)
{
    weft_definition *def;
    weft_err err = {0};
    cr_assert_eq(parse_text("{\"name\": \"pipe\", \"activities\": ["
                            "{\"name\": \"c\", \"task\": \"noop\", \"depends_on\": [\"b\", \"a\"],"
                            " \"params\": {\"k\": 1}, \"timeout_s\": 30, \"priority\": 5,"
                            " \"retry\": {\"max_retries\": 0, \"initial_delay_ms\": 500,"
                            " \"backoff\": 1.5, \"max_delay_ms\": 9000}},"
                            "{\"name\": \"a\", \"task\": \"sleep\"},"
                            "{\"name\": \"b\", \"task\": \"fail\"}]}",
                            NULL, &def, &err),
                 WEFT_OK, "%s", err.msg);
    cr_assert_eq(def->n, 3);
    cr_expect_str_eq(def->name, "pipe");
    const weft_activity_def *c = &def->activities[0];
    cr_expect_str_eq(c->name, "c");
    cr_expect_str_eq(c->task, "noop");
    cr_assert_eq(c->ndeps, 2);
    cr_expect_eq(c->deps[0], 2, "b is activities[2]");
    cr_expect_eq(c->deps[1], 1, "a is activities[1]");
    cr_expect_eq(json_integer_value(json_object_get(c->params, "k")), 1);
    cr_expect_eq(c->timeout_s, 30);
    cr_expect_eq(c->priority, 5);
    cr_expect_eq(c->retry.max_retries, 0);
    cr_expect_float_eq(c->retry.initial_delay_ms, 500.0, 1e-9);
    cr_expect_float_eq(c->retry.backoff, 1.5, 1e-9);
    cr_expect_float_eq(c->retry.max_delay_ms, 9000.0, 1e-9);
    cr_expect_str_eq(def->activities[1].task, "sleep");
    weft_definition_destroy(def);
}

Test(definition, one_given_delay_moves_the_other_default_out_of_its_way)
{
    weft_definition *def;
    weft_err err = {0};
    cr_assert_eq(parse_text("{\"name\": \"w\", \"activities\": ["
                            "{\"name\": \"a\", \"task\": \"noop\","
                            " \"retry\": {\"initial_delay_ms\": 120000}},"
                            "{\"name\": \"b\", \"task\": \"noop\","
                            " \"retry\": {\"max_delay_ms\": 200}}]}",
                            NULL, &def, &err),
                 WEFT_OK, "%s", err.msg);
    cr_expect_float_eq(def->activities[0].retry.max_delay_ms, 120000.0, 1e-9);
    cr_expect_float_eq(def->activities[1].retry.initial_delay_ms, 200.0, 1e-9);
    weft_definition_destroy(def);
}

Test(definition, null_registry_skips_the_task_check_but_not_the_rest)
{
    json_t *doc = json_loads("{\"name\": \"w\", \"activities\": [{\"name\": \"a\", \"task\": "
                             "\"not.registered\"}]}",
                             0, NULL);
    weft_definition *def;
    weft_err err = {0};
    cr_assert_eq(weft_definition_parse(doc, NULL, NULL, &def, &err), WEFT_OK, "%s", err.msg);
    cr_expect_str_eq(def->activities[0].task, "not.registered");
    weft_definition_destroy(def);
    json_decref(doc);

    doc = json_loads("{\"name\": \"w\", \"activities\": [{\"name\": \"a\"}]}", 0, NULL);
    cr_expect_eq(weft_definition_parse(doc, NULL, NULL, &def, &err), WEFT_EINVAL);
    json_decref(doc);
}

Test(definition, a_long_list_of_known_tasks_is_cut_and_counted)
{
    weft_task_registry *r = weft_task_registry_create();
    for (int i = 0; i < 100; i++) {
        char name[32];
        snprintf(name, sizeof name, "task.number.%03d", i);
        cr_assert(weft_task_declare(r, name));
    }
    char *list = weft_task_list(r);
    cr_expect_lt(strlen(list), 330, "%s", list);
    cr_expect(strncmp(list, "task.number.000, task.number.001, ", 34) == 0, "sorted: %s", list);
    cr_expect(strstr(list, "..., and ") && strstr(list, " more"), "%s", list);
    free(list);
    weft_task_registry_destroy(r);
    r = weft_task_registry_create();
    list = weft_task_list(r);
    cr_expect_str_eq(list, "none");
    free(list);
    weft_task_registry_destroy(r);
}

Test(definition, null_document_is_rejected_without_crashing)
{
    weft_definition *def;
    weft_err err = {0};
    cr_expect_eq(weft_definition_parse(NULL, NULL, NULL, &def, &err), WEFT_EINVAL);
    cr_expect_null(def);
    cr_expect(strstr(err.msg, "must be a JSON object") != NULL, "%s", err.msg);
}

Test(definition, destroy_accepts_null)
{
    weft_definition_destroy(NULL);
}

Test(definition, name_validity_follows_the_documented_pattern)
{
    cr_expect(weft_name_valid("a"));
    cr_expect(weft_name_valid("A-Z_a.z-0.9"));
    cr_expect(weft_name_valid("0123456789012345678901234567890123456789012345678901234567890123"),
              "64 characters is the limit, inclusive");
    cr_expect_not(
        weft_name_valid("01234567890123456789012345678901234567890123456789012345678901234"),
        "65 characters is too long");
    cr_expect_not(weft_name_valid(""));
    cr_expect_not(weft_name_valid(NULL));
    cr_expect_not(weft_name_valid("a b"));
    cr_expect_not(weft_name_valid("a/b"));
    cr_expect_not(weft_name_valid("caf\xc3\xa9"), "non-ASCII letters are outside the pattern");
    cr_expect_not(weft_name_valid("a\n"));
}

/* {"name": "gen", "activities": [...]} with n activities a0..a(n-1); deps_of(i) returns a
 * JSON array (new) or NULL. */
static json_t *generate(size_t n, json_t *(*deps_of)(size_t i, size_t n))
{
    json_t *acts = json_array();
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "a%zu", i);
        json_t *a = json_pack("{s:s, s:s}", "name", name, "task", "noop");
        json_t *deps = deps_of ? deps_of(i, n) : NULL;
        if (deps)
            json_object_set_new(a, "depends_on", deps);
        json_array_append_new(acts, a);
    }
    return json_pack("{s:s, s:o}", "name", "gen", "activities", acts);
}

static json_t *dep_name(size_t j)
{
    char name[32];
    snprintf(name, sizeof name, "a%zu", j);
    return json_string(name);
}

/* Each depends on the next one listed: the deepest possible walk from activities[0]. */
static json_t *chain_forward(size_t i, size_t n)
{
    return i + 1 < n ? json_pack("[o]", dep_name(i + 1)) : NULL;
}

static json_t *ring(size_t i, size_t n)
{
    return json_pack("[o]", dep_name((i + 1) % n));
}

static json_t *fan_out(size_t i, size_t n)
{
    return i ? json_pack("[o]", dep_name(0)) : NULL;
}

static json_t *fan_in(size_t i, size_t n)
{
    if (i + 1 < n)
        return NULL;
    json_t *deps = json_array();
    for (size_t j = 0; j + 1 < n; j++)
        json_array_append_new(deps, dep_name(j));
    return deps;
}

/* Parses a generated document under the default limits and a NULL registry; reports time. */
static weft_status parse_generated(json_t *doc, const weft_limits *limits, weft_definition **def,
                                   weft_err *err, double *secs)
{
    double t0 = weft_clock_s();
    weft_status st = weft_definition_parse(doc, limits, NULL, def, err);
    *secs = weft_clock_s() - t0;
    return st;
}

Test(definition_limits, one_activity_over_the_limit_is_too_big)
{
    weft_limits limits = WEFT_LIMITS_DEFAULT;
    limits.max_activities = 100;
    json_t *doc = generate(101, NULL);
    weft_definition *def;
    weft_err err = {0};
    double secs;
    cr_expect_eq(parse_generated(doc, &limits, &def, &err, &secs), WEFT_ETOOBIG);
    cr_expect_null(def);
    cr_expect(strstr(err.msg, "101") && strstr(err.msg, "100"),
              "message names the count and the limit: %s", err.msg);
    json_decref(doc);
}

Test(definition_limits, exactly_the_limit_is_accepted)
{
    weft_limits limits = WEFT_LIMITS_DEFAULT;
    limits.max_activities = 100;
    json_t *doc = generate(100, NULL);
    weft_definition *def;
    weft_err err = {0};
    double secs;
    cr_expect_eq(parse_generated(doc, &limits, &def, &err, &secs), WEFT_OK, "%s", err.msg);
    weft_definition_destroy(def);
    json_decref(doc);
}

Test(definition_limits, chain_of_10000_parses_quickly_without_deep_recursion, .timeout = 20)
{
    weft_limits limits = WEFT_LIMITS_DEFAULT;
    json_t *doc = generate(10000, chain_forward);
    weft_definition *def;
    weft_err err = {0};
    double secs;
    cr_assert_eq(parse_generated(doc, &limits, &def, &err, &secs), WEFT_OK, "%s", err.msg);
    cr_expect_eq(def->n, 10000);
    cr_expect_eq(def->activities[0].deps[0], 1);
    cr_expect_eq(def->activities[9999].ndeps, 0);
    cr_expect_lt(secs, 2.0, "took %.3fs", secs);
    weft_definition_destroy(def);
    json_decref(doc);
}

Test(definition_limits, ring_of_10000_is_a_cycle_with_a_one_line_message, .timeout = 20)
{
    json_t *doc = generate(10000, ring);
    weft_definition *def;
    weft_err err = {0};
    double secs;
    cr_assert_eq(parse_generated(doc, NULL, &def, &err, &secs), WEFT_EINVAL);
    cr_expect(strncmp(err.msg, "cycle: a0 -> a1 -> a2 -> ", 25) == 0, "%s", err.msg);
    cr_expect(strstr(err.msg, "more) -> a0") != NULL, "long cycles are cut: %s", err.msg);
    cr_expect_lt(secs, 2.0, "took %.3fs", secs);
    json_decref(doc);
}

Test(definition_limits, fan_out_of_10000_parses_quickly, .timeout = 20)
{
    json_t *doc = generate(10000, fan_out);
    weft_definition *def;
    weft_err err = {0};
    double secs;
    cr_assert_eq(parse_generated(doc, NULL, &def, &err, &secs), WEFT_OK, "%s", err.msg);
    cr_expect_eq(def->activities[9999].deps[0], 0);
    cr_expect_lt(secs, 2.0, "took %.3fs", secs);
    weft_definition_destroy(def);
    json_decref(doc);
}

Test(definition_limits, fan_in_of_10000_parses_quickly, .timeout = 20)
{
    json_t *doc = generate(10000, fan_in);
    weft_definition *def;
    weft_err err = {0};
    double secs;
    cr_assert_eq(parse_generated(doc, NULL, &def, &err, &secs), WEFT_OK, "%s", err.msg);
    cr_expect_eq(def->activities[9999].ndeps, 9999);
    cr_expect_eq(def->activities[9999].deps[9998], 9998);
    cr_expect_lt(secs, 2.0, "took %.3fs", secs);
    weft_definition_destroy(def);
    json_decref(doc);
}

Test(definition_limits, duplicate_among_10000_is_found_and_named_by_position, .timeout = 20)
{
    json_t *doc = generate(10000, NULL);
    json_object_set_new(json_array_get(json_object_get(doc, "activities"), 9000), "name",
                        json_string("a17"));
    weft_definition *def;
    weft_err err = {0};
    double secs;
    cr_assert_eq(parse_generated(doc, NULL, &def, &err, &secs), WEFT_EINVAL);
    cr_expect(strstr(err.msg, "activities[9000]: name 'a17' is already used by activities[17]"),
              "%s", err.msg);
    cr_expect_lt(secs, 2.0, "took %.3fs", secs);
    json_decref(doc);
}

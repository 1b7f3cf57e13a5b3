/* Specification of the graph logic: cycle detection, readiness, downstream edges, and the
 * data-flow merge rule of DESIGN §3. */
#include "dag.h"

#include "definition.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static weft_definition *parse(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    cr_assert_not_null(doc, "test JSON does not parse: %s", jerr.text);
    weft_definition *def;
    weft_err err = {0};
    cr_assert_eq(weft_definition_parse(doc, NULL, NULL, &def, &err), WEFT_OK, "%s", err.msg);
    json_decref(doc);
    return def;
}

static json_t *json(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    cr_assert_not_null(v, "test JSON does not parse: %s", jerr.text);
    return v;
}

static size_t index_of(const weft_definition *def, const char *name)
{
    for (size_t i = 0; i < def->n; i++)
        if (strcmp(def->activities[i].name, name) == 0)
            return i;
    cr_assert_fail("no activity named %s", name);
    return 0;
}

/* A definition built by hand, for graphs the parser refuses before the cycle check. Each
 * activity is named n0, n1, ...; deps_of[i] lists activity i's dependencies, ending in -1. */
static weft_definition *build(size_t n, const int (*deps_of)[4])
{
    weft_definition *def = calloc(1, sizeof *def);
    def->name = strdup("built");
    def->activities = calloc(n, sizeof *def->activities);
    def->n = n;
    for (size_t i = 0; i < n; i++) {
        weft_activity_def *a = &def->activities[i];
        char name[32];
        snprintf(name, sizeof name, "n%zu", i);
        a->name = strdup(name);
        a->task = strdup("noop");
        a->params = json_object();
        a->retry = weft_retry_policy_default();
        while (deps_of[i][a->ndeps] >= 0)
            a->ndeps++;
        a->deps = calloc(a->ndeps + 1, sizeof *a->deps);
        for (size_t k = 0; k < a->ndeps; k++)
            a->deps[k] = (size_t)deps_of[i][k];
    }
    return def;
}

static const char *const diamond = "{\"name\": \"d\", \"activities\": ["
                                   "{\"name\": \"top\", \"task\": \"noop\"},"
                                   "{\"name\": \"left\", \"task\": \"noop\", \"depends_on\": "
                                   "[\"top\"]},"
                                   "{\"name\": \"right\", \"task\": \"noop\", \"depends_on\": "
                                   "[\"top\"]},"
                                   "{\"name\": \"bottom\", \"task\": \"noop\", \"depends_on\": "
                                   "[\"left\", \"right\"]}]}";

/* --- merge ---------------------------------------------------------------------------- */

Test(dag_merge, later_sources_win_inputs_then_upstream_then_params)
{
    json_t *inputs = json("{\"k\": \"inputs\", \"only_inputs\": 1}");
    json_t *up0 = json("{\"k\": \"up0\", \"only_up0\": 2}");
    json_t *up1 = json("{\"k\": \"up1\"}");
    json_t *params = json("{\"k\": \"params\", \"only_params\": 3}");
    const json_t *upstream[] = {up0, up1};

    json_t *m = weft_dag_merge_input(inputs, upstream, 2, params);
    cr_expect_str_eq(json_string_value(json_object_get(m, "k")), "params");
    cr_expect_eq(json_integer_value(json_object_get(m, "only_inputs")), 1);
    cr_expect_eq(json_integer_value(json_object_get(m, "only_up0")), 2);
    cr_expect_eq(json_integer_value(json_object_get(m, "only_params")), 3);
    cr_expect_eq(json_object_size(m), 4);
    json_decref(m);

    m = weft_dag_merge_input(inputs, upstream, 2, NULL);
    cr_expect_str_eq(json_string_value(json_object_get(m, "k")), "up1",
                     "the later upstream wins over the earlier one and over inputs");
    json_decref(m);

    m = weft_dag_merge_input(inputs, NULL, 0, NULL);
    cr_expect_str_eq(json_string_value(json_object_get(m, "k")), "inputs");
    json_decref(m);

    json_decref(inputs);
    json_decref(up0);
    json_decref(up1);
    json_decref(params);
}

Test(dag_merge, diamond_takes_the_later_listed_dependency_whatever_finished_first)
{
    weft_definition *def = parse(diamond);
    size_t left = index_of(def, "left"), right = index_of(def, "right");
    const weft_activity_def *bottom = &def->activities[index_of(def, "bottom")];

    /* Outputs keyed by activity, recorded in completion order: right finished first. */
    json_t *outputs[4] = {0};
    outputs[right] = json("{\"k\": \"from right\"}");
    outputs[left] = json("{\"k\": \"from left\"}");

    const json_t *upstream[2];
    for (size_t k = 0; k < bottom->ndeps; k++)
        upstream[k] = outputs[bottom->deps[k]];
    json_t *m = weft_dag_merge_input(NULL, upstream, bottom->ndeps, NULL);
    cr_expect_str_eq(json_string_value(json_object_get(m, "k")), "from right",
                     "depends_on is [left, right]: right is listed later");
    json_decref(m);

    json_decref(outputs[left]);
    json_decref(outputs[right]);
    weft_definition_destroy(def);
}

Test(dag_merge, null_and_non_object_arguments_count_as_empty)
{
    json_t *m = weft_dag_merge_input(NULL, NULL, 0, NULL);
    cr_assert(json_is_object(m));
    cr_expect_eq(json_object_size(m), 0);
    json_decref(m);

    json_t *arr = json("[1, 2]"), *str = json("\"s\""), *num = json("7");
    json_t *obj = json("{\"a\": 1}");
    const json_t *upstream[] = {arr, NULL, obj, json_null()};
    m = weft_dag_merge_input(str, upstream, 4, num);
    cr_assert(json_is_object(m));
    cr_expect_eq(json_object_size(m), 1);
    cr_expect_eq(json_integer_value(json_object_get(m, "a")), 1);
    json_decref(m);

    m = weft_dag_merge_input(obj, NULL, 3, NULL);
    cr_expect_eq(json_object_size(m), 1, "a NULL upstream array is no upstream");
    json_decref(m);

    json_decref(arr);
    json_decref(str);
    json_decref(num);
    json_decref(obj);
}

Test(dag_merge, result_is_a_new_object_and_setting_keys_on_it_leaves_arguments_alone)
{
    json_t *inputs = json("{\"a\": 1, \"nested\": {\"x\": 1}}");
    json_t *params = json("{\"p\": true}");
    json_t *m = weft_dag_merge_input(inputs, NULL, 0, params);
    cr_assert_neq(m, inputs);
    cr_assert_neq(m, params);
    json_object_set_new(m, "a", json_integer(2));
    json_object_set_new(m, "nested", json_string("replaced"));
    json_object_set_new(m, "added", json_true());
    cr_expect_eq(json_integer_value(json_object_get(inputs, "a")), 1);
    cr_expect(json_is_object(json_object_get(inputs, "nested")));
    cr_expect_null(json_object_get(inputs, "added"));
    cr_expect_null(json_object_get(params, "added"));
    cr_expect_eq(json_object_size(params), 1);
    json_decref(m);
    cr_expect_eq(inputs->refcount, 1, "the result holds no reference to the arguments");
    json_decref(inputs);
    json_decref(params);
}

/* --- readiness ------------------------------------------------------------------------ */

Test(dag_ready, only_roots_are_ready_before_anything_completes)
{
    weft_definition *def = parse("{\"name\": \"w\", \"activities\": ["
                                 "{\"name\": \"c\", \"task\": \"noop\", \"depends_on\": [\"a\"]},"
                                 "{\"name\": \"a\", \"task\": \"noop\"},"
                                 "{\"name\": \"b\", \"task\": \"noop\"}]}");
    bool completed[3] = {false};
    size_t ready[3];
    cr_assert_eq(weft_dag_ready(def, completed, ready), 2);
    cr_expect_eq(ready[0], 1, "a, in definition order");
    cr_expect_eq(ready[1], 2, "then b");
    cr_expect_eq(weft_dag_ready(def, NULL, ready), 2, "NULL completed means none completed");
    weft_definition_destroy(def);
}

Test(dag_ready, activity_becomes_ready_only_when_every_dependency_completed)
{
    weft_definition *def = parse(diamond);
    size_t top = index_of(def, "top"), left = index_of(def, "left"), right = index_of(def, "right"),
           bottom = index_of(def, "bottom");
    bool completed[4] = {false};
    size_t ready[4];

    completed[top] = true;
    cr_assert_eq(weft_dag_ready(def, completed, ready), 2);
    cr_expect_eq(ready[0], left);
    cr_expect_eq(ready[1], right);

    completed[right] = true;
    cr_assert_eq(weft_dag_ready(def, completed, ready), 1, "bottom still waits for left");
    cr_expect_eq(ready[0], left);

    completed[left] = true;
    cr_assert_eq(weft_dag_ready(def, completed, ready), 1);
    cr_expect_eq(ready[0], bottom);

    completed[bottom] = true;
    cr_expect_eq(weft_dag_ready(def, completed, ready), 0, "completed work is never ready");
    weft_definition_destroy(def);
}

/* --- downstream ----------------------------------------------------------------------- */

Test(dag_downstream, lists_dependents_in_definition_order)
{
    weft_definition *def = parse("{\"name\": \"w\", \"activities\": ["
                                 "{\"name\": \"z\", \"task\": \"noop\", \"depends_on\": [\"b\", "
                                 "\"a\"]},"
                                 "{\"name\": \"a\", \"task\": \"noop\"},"
                                 "{\"name\": \"y\", \"task\": \"noop\", \"depends_on\": [\"a\"]},"
                                 "{\"name\": \"b\", \"task\": \"noop\"}]}");
    size_t **down, *counts;
    weft_dag_downstream(def, &down, &counts);
    cr_expect_eq(counts[0], 0, "nothing depends on z");
    cr_assert_eq(counts[1], 2);
    cr_expect_eq(down[1][0], 0, "a feeds z (activities[0]) ...");
    cr_expect_eq(down[1][1], 2, "... then y (activities[2])");
    cr_expect_eq(counts[2], 0);
    cr_assert_eq(counts[3], 1);
    cr_expect_eq(down[3][0], 0);
    weft_dag_free_downstream(down, counts, def->n);
    weft_definition_destroy(def);
}

Test(dag_downstream, free_accepts_null)
{
    weft_dag_free_downstream(NULL, NULL, 0);
    weft_dag_free_downstream(NULL, NULL, 5);
}

/* --- cycles --------------------------------------------------------------------------- */

Test(dag_cycle, acyclic_graph_passes)
{
    weft_definition *def = parse(diamond);
    weft_err err = {0};
    cr_expect_eq(weft_dag_check_acyclic(def, &err), WEFT_OK, "%s", err.msg);
    weft_definition_destroy(def);
}

Test(dag_cycle, message_names_the_cycle_in_dependency_order)
{
    /* n0 -> n1 -> n2 -> n0, behind an acyclic root n3 that n0 also depends on. */
    static const int deps[][4] = {{3, 1, -1}, {2, -1}, {0, -1}, {-1}};
    weft_definition *def = build(4, deps);
    weft_err err = {0};
    cr_assert_eq(weft_dag_check_acyclic(def, &err), WEFT_EINVAL);
    cr_expect_eq(err.status, WEFT_EINVAL);
    cr_expect(strncmp(err.msg, "cycle: n0 -> n1 -> n2 -> n0", 27) == 0, "%s", err.msg);
    cr_expect(strstr(err.msg, "n3") == NULL, "the acyclic part is not named: %s", err.msg);
    weft_definition_destroy(def);
}

Test(dag_cycle, self_dependency_is_a_cycle_of_one)
{
    static const int deps[][4] = {{-1}, {1, -1}};
    weft_definition *def = build(2, deps);
    weft_err err = {0};
    cr_assert_eq(weft_dag_check_acyclic(def, &err), WEFT_EINVAL);
    cr_expect(strncmp(err.msg, "cycle: n1 -> n1", 15) == 0, "%s", err.msg);
    weft_definition_destroy(def);
}

Test(dag_cycle, cycle_reached_late_in_a_long_walk_names_only_its_members)
{
    /* n0 -> n1 -> ... -> n9, and n9 -> n6: the cycle is n6 -> n7 -> n8 -> n9 -> n6. */
    int(*deps)[4] = calloc(10, sizeof *deps);
    for (int i = 0; i < 10; i++) {
        deps[i][0] = i < 9 ? i + 1 : 6;
        deps[i][1] = -1;
    }
    weft_definition *def = build(10, (const int(*)[4])deps);
    weft_err err = {0};
    cr_assert_eq(weft_dag_check_acyclic(def, &err), WEFT_EINVAL);
    cr_expect(strncmp(err.msg, "cycle: n6 -> n7 -> n8 -> n9 -> n6 ", 34) == 0, "%s", err.msg);
    free(deps);
    weft_definition_destroy(def);
}

Test(dag_cycle, very_long_cycle_is_cut_to_one_bounded_line)
{
    enum { N = 5000 };
    int(*deps)[4] = calloc(N, sizeof *deps);
    for (int i = 0; i < N; i++) {
        deps[i][0] = (i + 1) % N;
        deps[i][1] = -1;
    }
    weft_definition *def = build(N, (const int(*)[4])deps);
    weft_err err = {0};
    cr_assert_eq(weft_dag_check_acyclic(def, &err), WEFT_EINVAL);
    cr_expect(strncmp(err.msg, "cycle: n0 -> n1 -> ", 19) == 0, "%s", err.msg);
    cr_expect(strstr(err.msg, " more) -> n0 (each activity depends on the next)") != NULL,
              "the closing edge and the reading survive the cut: %s", err.msg);
    cr_expect_lt(strlen(err.msg), sizeof err.msg - 1, "nothing was truncated blindly");
    cr_expect_null(strchr(err.msg, '\n'));
    free(deps);
    weft_definition_destroy(def);
}

Test(dag_cycle, deep_chain_is_walked_without_recursion)
{
    enum { N = 100000 };
    int(*deps)[4] = calloc(N, sizeof *deps);
    for (int i = 0; i < N; i++) {
        deps[i][0] = i + 1 < N ? i + 1 : -1;
        deps[i][1] = -1;
    }
    weft_definition *def = build(N, (const int(*)[4])deps);
    weft_err err = {0};
    cr_expect_eq(weft_dag_check_acyclic(def, &err), WEFT_OK, "%s", err.msg);
    free(deps);
    weft_definition_destroy(def);
}

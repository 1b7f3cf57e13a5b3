/* Workflows run end to end through the three consumers as separate processes. */
#include "alloc.h"
#include "clock.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <string.h>

static harness_procs procs;
static void up(void)
{
    harness_start(&procs, 4);
}
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(workflows, .init = up, .fini = down, .timeout = 120);

static json_t *output_of(weft_workflow_info *w, const char *sink)
{
    json_t *o = json_object_get(w->output, sink);
    cr_assert(json_is_object(o), "workflow output lacks sink '%s'", sink);
    return o;
}

Test(workflows, six_step_chain_completes_in_order_with_every_step_once)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(
        "{\"name\":\"chain6\",\"activities\":["
        "{\"name\":\"s1\",\"task\":\"noop\",\"params\":{\"s1\":1}},"
        "{\"name\":\"s2\",\"task\":\"noop\",\"depends_on\":[\"s1\"],\"params\":{\"s2\":2}},"
        "{\"name\":\"s3\",\"task\":\"noop\",\"depends_on\":[\"s2\"],\"params\":{\"s3\":3}},"
        "{\"name\":\"s4\",\"task\":\"noop\",\"depends_on\":[\"s3\"],\"params\":{\"s4\":4}},"
        "{\"name\":\"s5\",\"task\":\"noop\",\"depends_on\":[\"s4\"],\"params\":{\"s5\":5}},"
        "{\"name\":\"s6\",\"task\":\"noop\",\"depends_on\":[\"s5\"],\"params\":{\"s6\":6}}]}",
        "{\"seed\":\"x\"}", uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    json_t *out = output_of(&w, "s6");
    /* each step's params flowed downstream: the sink saw all six plus the inputs */
    cr_assert_str_eq(json_string_value(json_object_get(out, "seed")), "x");
    for (int i = 1; i <= 6; i++) {
        char k[8];
        snprintf(k, sizeof k, "s%d", i);
        cr_assert_eq(json_integer_value(json_object_get(out, k)), i, "missing %s", k);
    }
    cr_assert_eq(json_object_size(w.output), 1, "only the sink is in the output");
    json_t *acts = harness_activities(uid);
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a)
    {
        cr_assert_str_eq(json_string_value(json_object_get(a, "status")), "completed");
        cr_assert_eq(json_array_size(json_object_get(a, "attempts")), 1, "ran once");
    }
    json_decref(acts);
    weft_workflow_info_finish(&w);
}

static void diamond(const char *join_deps, const char *expect)
{
    /* b finishes last (it sleeps), yet the merge follows depends_on order, not completion */
    char def[1024];
    snprintf(def, sizeof def,
             "{\"name\":\"diamond\",\"activities\":["
             "{\"name\":\"a\",\"task\":\"noop\",\"params\":{\"k\":\"a\"}},"
             "{\"name\":\"b\",\"task\":\"sleep\",\"depends_on\":[\"a\"],"
             "\"params\":{\"k\":\"b\",\"ms\":400,\"from_b\":true}},"
             "{\"name\":\"c\",\"task\":\"noop\",\"depends_on\":[\"a\"],"
             "\"params\":{\"k\":\"c\",\"from_c\":true}},"
             "{\"name\":\"d\",\"task\":\"noop\",\"depends_on\":%s}]}",
             join_deps);
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(def, "{\"k\":\"inputs\"}", uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    json_t *out = output_of(&w, "d");
    cr_assert_str_eq(json_string_value(json_object_get(out, "k")), expect);
    cr_assert(json_is_true(json_object_get(out, "from_b")));
    cr_assert(json_is_true(json_object_get(out, "from_c")));
    weft_workflow_info_finish(&w);
}

Test(workflows, diamond_join_takes_same_named_key_from_the_later_listed_dependency)
{
    diamond("[\"b\",\"c\"]", "c");
}

Test(workflows, diamond_merge_follows_listed_order_not_completion_order)
{
    diamond("[\"c\",\"b\"]", "b");
}

Test(workflows, two_independent_roots_both_run_and_both_sinks_are_in_the_output)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"roots\",\"activities\":["
                   "{\"name\":\"left\",\"task\":\"noop\",\"params\":{\"side\":\"L\"}},"
                   "{\"name\":\"right\",\"task\":\"noop\",\"params\":{\"side\":\"R\"}},"
                   "{\"name\":\"left2\",\"task\":\"noop\",\"depends_on\":[\"left\"]}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    cr_assert_eq(json_object_size(w.output), 2);
    cr_assert_str_eq(json_string_value(json_object_get(output_of(&w, "left2"), "side")), "L");
    cr_assert_str_eq(json_string_value(json_object_get(output_of(&w, "right"), "side")), "R");
    weft_workflow_info_finish(&w);
}

Test(workflows, fan_out_200_then_join_completes_with_every_branch_merged)
{
    json_t *acts = json_array();
    json_array_append_new(acts, json_pack("{s:s, s:s}", "name", "root", "task", "noop"));
    json_t *join_deps = json_array();
    for (int i = 0; i < 200; i++) {
        char name[16], key[16];
        snprintf(name, sizeof name, "b%03d", i);
        snprintf(key, sizeof key, "k%03d", i);
        json_array_append_new(acts, json_pack("{s:s, s:s, s:[s], s:{s:i}}", "name", name, "task",
                                              "noop", "depends_on", "root", "params", key, i));
        json_array_append_new(join_deps, json_string(name));
    }
    json_array_append_new(acts, json_pack("{s:s, s:s, s:o}", "name", "join", "task", "noop",
                                          "depends_on", join_deps));
    json_t *doc = json_pack("{s:s, s:o}", "name", "fan", "activities", acts);
    char *text = json_dumps(doc, JSON_COMPACT);
    char uid[WEFT_UUID_LEN + 1];
    double t0 = weft_clock_s();
    harness_submit(text, NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 90, &w);
    double took = weft_clock_s() - t0;
    cr_log_info("1 -> 200 -> 1 took %.3f s end to end", took);
    fprintf(stderr, "fan-out 1->200->1 end to end: %.3f s\n", took);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    json_t *out = output_of(&w, "join");
    for (int i = 0; i < 200; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%03d", i);
        cr_assert_eq(json_integer_value(json_object_get(out, key)), i, "join lacks %s", key);
    }
    cr_assert_eq(w.total, 202);
    free(text);
    json_decref(doc);
    weft_workflow_info_finish(&w);
}

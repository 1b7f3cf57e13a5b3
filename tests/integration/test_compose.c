/* Composition (DESIGN §11) through the real consumers: child workflows (stored and inline,
 * success, failure with the child's uid, both links shown, cancel cascading into a running
 * child, a resumed parent resuming its failed child rather than starting another) and maps
 * (max_parallel honoured from the recorded attempt times, outputs in element order when
 * instances finish out of order, the empty and non-array cases, an instance failing for good
 * after its retries and canceling the rest, a map of child workflows), and `weft status`
 * summing instances up under their map. */
#include "alloc.h"
#include "clock.h"
#include "harness.h"
#include "uuid.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static harness_procs procs;

static void up(void)
{
    harness_start(&procs, 4);
}

static void down(void)
{
    harness_stop(&procs);
}

TestSuite(compose, .init = up, .fini = down, .timeout = 180);

/* Runs `weft ARGS` (stderr joined); returns its exit status, *out its output (new). */
static int weft(const char *args, char **out)
{
    char *cmd = weft_xasprintf("'%s' %s 2>&1", getenv("WEFT_BIN_WEFT"), args);
    int rc = harness_run(cmd, out);
    free(cmd);
    return rc;
}

static json_t *status_json(const char *uid)
{
    char *args = weft_xasprintf("status %s --json", uid), *out = NULL;
    cr_assert_eq(weft(args, &out), 0, "weft status: %s", out);
    json_error_t e;
    json_t *o = json_loads(out, 0, &e);
    cr_assert(o, "weft status --json gives JSON: %s", out);
    free(out);
    free(args);
    return o;
}

/* Submits def with inputs (JSON text or NULL) and waits for it to complete (asserted);
 * *w is the caller's to finish. */
static void run_completed(const char *def, const char *inputs, double timeout_s,
                          char uid[WEFT_UUID_LEN + 1], weft_workflow_info *w)
{
    harness_submit(def, inputs, uid);
    harness_wait(uid, timeout_s, w);
    cr_assert_eq(w->status, WEFT_WORKFLOW_COMPLETED, "workflow %s: %s", uid,
                 w->error ? w->error : "");
}

/* Asserts that the one value sql (one parameter, uid) reads is want. */
static void expect_sql(const char *sql, const char *uid, const char *want, const char *why)
{
    const char *p[] = {uid};
    char *got = harness_sql_value(sql, 1, p);
    cr_assert_str_eq(got, want, "%s", why);
    free(got);
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The child workflow the activity started. */
static const char *child_of(json_t *acts, const char *name)
{
    const char *uid = str(harness_activity(acts, name), "child_uid");
    cr_assert(uid && weft_uuid_valid(uid), "activity %s names its child", name);
    return uid;
}

Test(compose, a_stored_child_runs_with_the_merged_input_and_gives_its_output_to_the_parent)
{
    char *file =
        harness_write_temp("{\"name\":\"compose_kid\",\"activities\":["
                           "{\"name\":\"first\",\"task\":\"noop\",\"params\":{\"from_kid\":1}},"
                           "{\"name\":\"last\",\"task\":\"noop\",\"depends_on\":[\"first\"]}]}");
    char *args = weft_xasprintf("define '%s'", file), *out = NULL;
    cr_assert_eq(weft(args, &out), 0, "weft define: %s", out);
    free(out);
    free(args);
    unlink(file);
    free(file);
    char uid[WEFT_UUID_LEN + 1];
    weft_workflow_info w;
    run_completed("{\"name\":\"compose_parent\",\"activities\":["
                  "{\"name\":\"prep\",\"task\":\"noop\",\"params\":{\"scan\":\"s-7\"}},"
                  "{\"name\":\"kid\",\"task\":\"workflow\",\"depends_on\":[\"prep\"],"
                  "\"params\":{\"definition\":\"compose_kid\"}},"
                  "{\"name\":\"after\",\"task\":\"noop\",\"depends_on\":[\"kid\"]}]}",
                  "{\"who\":\"parent\"}", 60, uid, &w);
    /* the child's output {last: ...} is the activity's output, merged downstream */
    json_t *last = json_object_get(json_object_get(w.output, "after"), "last");
    cr_assert(json_is_object(last), "after saw the child's output");
    cr_assert_str_eq(str(last, "scan"), "s-7", "the child's inputs are the merged input");
    cr_assert_str_eq(str(last, "who"), "parent");
    cr_assert_eq(json_integer_value(json_object_get(last, "from_kid")), 1);
    cr_assert_null(json_object_get(last, "definition"), "the choice of child is not an input");
    weft_workflow_info_finish(&w);
    /* both links: the parent activity names the child, the child its parent */
    json_t *acts = harness_activities(uid);
    json_t *child = status_json(child_of(acts, "kid"));
    cr_assert_str_eq(str(child, "status"), "completed");
    cr_assert_str_eq(str(json_object_get(child, "parent"), "uid"), uid);
    cr_assert_str_eq(str(json_object_get(child, "parent"), "activity"), "kid");
    char *sargs = weft_xasprintf("status %s", str(child, "uid"));
    cr_assert_eq(weft(sargs, &out), 0);
    cr_assert(strstr(out, "parent: ") && strstr(out, uid), "text status shows the parent: %s", out);
    free(out);
    free(sargs);
    sargs = weft_xasprintf("status %s", uid);
    cr_assert_eq(weft(sargs, &out), 0);
    cr_assert(strstr(out, "child ") && strstr(out, str(child, "uid")),
              "text status shows the child: %s", out);
    free(out);
    free(sargs);
    json_decref(child);
    json_decref(acts);
}

Test(compose, a_failed_child_fails_the_parent_activity_with_its_uid_and_error)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"compose_fail\",\"activities\":["
                   "{\"name\":\"kid\",\"task\":\"workflow\",\"params\":{\"definition\":"
                   "{\"name\":\"bad_kid\",\"activities\":[{\"name\":\"boom\",\"task\":\"fail\","
                   "\"params\":{\"message\":\"disk on fire\"}}]}}},"
                   "{\"name\":\"after\",\"task\":\"noop\",\"depends_on\":[\"kid\"]}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    json_t *acts = harness_activities(uid);
    const char *child = child_of(acts, "kid");
    cr_assert(strstr(w.error, "activity 'kid' failed: child workflow") && strstr(w.error, child) &&
                  strstr(w.error, "activity 'boom' failed: disk on fire"),
              "the error names the child and its error: %s", w.error);
    json_t *kid = harness_activity(acts, "kid");
    cr_assert_eq(json_integer_value(json_object_get(kid, "attempt")), 1,
                 "a child's failure is PERMANENT: it had its own retries");
    cr_assert_str_eq(str(harness_activity(acts, "after"), "status"), "canceled");
    weft_workflow_info_finish(&w);
    json_decref(acts);
}

Test(compose, canceling_a_parent_cancels_its_running_child_and_stops_the_childs_attempt)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"compose_cancel\",\"activities\":["
                   "{\"name\":\"kid\",\"task\":\"workflow\",\"params\":{\"definition\":"
                   "{\"name\":\"slow_kid\",\"activities\":[{\"name\":\"nap\",\"task\":\"sleep\","
                   "\"params\":{\"ms\":30000}}]}}}]}",
                   NULL, uid);
    json_t *acts = harness_wait_activity(uid, "kid", "running", 30);
    char child[WEFT_UUID_LEN + 1];
    /* the child's uid is set when it starts; wait for its sleep to run */
    for (double t0 = weft_clock_s(); weft_clock_s() - t0 < 30;) {
        json_decref(acts);
        acts = harness_activities(uid);
        const char *c = str(harness_activity(acts, "kid"), "child_uid");
        if (c) {
            snprintf(child, sizeof child, "%s", c);
            break;
        }
        weft_clock_sleep_ms(100);
    }
    json_decref(acts);
    json_decref(harness_wait_activity(child, "nap", "running", 30));
    double t0 = weft_clock_s();
    char *args = weft_xasprintf("cancel %s --reason 'not needed'", uid), *out = NULL;
    cr_assert_eq(weft(args, &out), 0, "weft cancel: %s", out);
    free(out);
    free(args);
    weft_workflow_info w;
    harness_wait(child, 20, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_CANCELED);
    cr_assert(strstr(w.error, uid) && strstr(w.error, "not needed"),
              "the child's reason names the parent's cancel: %s", w.error);
    weft_workflow_info_finish(&w);
    json_t *cacts = harness_wait_activity(child, "nap", "canceled", 15);
    double took = weft_clock_s() - t0;
    cr_assert_lt(took, 10, "the child's 30 s sleep stopped after %.1f s", took);
    json_decref(cacts);
    harness_wait(uid, 10, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_CANCELED);
    cr_assert_str_eq(w.error, "canceled: not needed");
    weft_workflow_info_finish(&w);
    acts = harness_activities(uid);
    cr_assert_str_eq(str(harness_activity(acts, "kid"), "status"), "canceled");
    json_decref(acts);
}

Test(compose, resuming_a_failed_parent_resumes_its_failed_child_instead_of_starting_another)
{
    char flag[] = "/tmp/weft-compose-flag-XXXXXX";
    int fd = mkstemp(flag);
    cr_assert(fd >= 0);
    close(fd);
    char *def =
        weft_xasprintf("{\"name\":\"compose_resume\",\"activities\":["
                       "{\"name\":\"kid\",\"task\":\"workflow\",\"params\":{\"definition\":"
                       "{\"name\":\"flaky_kid\",\"activities\":["
                       "{\"name\":\"once\",\"task\":\"noop\"},"
                       "{\"name\":\"gate\",\"task\":\"fail\",\"depends_on\":[\"once\"],"
                       "\"params\":{\"while_file\":\"%s\",\"message\":\"flag is up\"}}]}}}]}",
                       flag);
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(def, NULL, uid);
    free(def);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED, "fails while the flag is up");
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    char child[WEFT_UUID_LEN + 1];
    snprintf(child, sizeof child, "%s", child_of(acts, "kid"));
    json_decref(acts);
    unlink(flag);
    char *args = weft_xasprintf("resume %s --wait --timeout 60", uid), *out = NULL;
    cr_assert_eq(weft(args, &out), 0, "resume completes: %s", out);
    free(out);
    free(args);
    acts = harness_activities(uid);
    cr_assert_str_eq(child_of(acts, "kid"), child, "the same child, resumed");
    json_decref(acts);
    harness_wait(child, 10, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    weft_workflow_info_finish(&w);
    json_t *cacts = harness_activities(child);
    cr_assert_eq(json_integer_value(json_object_get(harness_activity(cacts, "once"), "attempt")), 1,
                 "the child's completed activity was not run again");
    json_decref(cacts);
    expect_sql("SELECT count(*)::text FROM weft_workflow WHERE parent_uid = $1", uid, "1",
               "no second child");
}

/* The largest number of attempts running at one instant, from their recorded times. */
static int max_overlap(json_t *acts, const char *of)
{
    double s[64], f[64];
    int n = 0;
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a)
    {
        const char *parent = str(a, "instance_of");
        if (!parent || strcmp(parent, of) != 0)
            continue;
        json_t *att = json_array_get(json_object_get(a, "attempts"), 0);
        cr_assert(n < 64);
        s[n] = json_number_value(json_object_get(att, "started"));
        f[n] = json_number_value(json_object_get(att, "finished"));
        n++;
    }
    int best = 0;
    for (int k = 0; k < n; k++) {
        int at = 0;
        for (int j = 0; j < n; j++)
            if (s[j] <= s[k] && f[j] > s[k])
                at++;
        if (at > best)
            best = at;
    }
    return best;
}

Test(compose, a_map_of_12_never_runs_more_than_3_and_keeps_element_order)
{
    /* durations that make later elements finish first */
    char items[512] = "[";
    for (int i = 0; i < 12; i++) {
        char one[48];
        snprintf(one, sizeof one, "%s{\"ms\":%d,\"n\":%d}", i ? "," : "", 400 - (i % 4) * 100, i);
        strcat(items, one);
    }
    strcat(items, "]");
    char *inputs = weft_xasprintf("{\"files\":%s}", items);
    char uid[WEFT_UUID_LEN + 1];
    weft_workflow_info w;
    run_completed("{\"name\":\"compose_map\",\"activities\":["
                  "{\"name\":\"each\",\"task\":\"sleep\","
                  "\"map\":{\"over\":\"files\",\"max_parallel\":3}},"
                  "{\"name\":\"after\",\"task\":\"noop\",\"depends_on\":[\"each\"]}]}",
                  inputs, 90, uid, &w);
    free(inputs);
    cr_assert_eq(w.total, 14, "2 activities and 12 instances: %d", w.total);
    /* `after` (noop) echoes its merged input, where the map's output {"items"} landed */
    json_t *got = json_object_get(json_object_get(w.output, "after"), "items");
    cr_assert_eq(json_array_size(got), 12);
    for (size_t i = 0; i < 12; i++) {
        json_t *o = json_array_get(got, i);
        cr_assert_eq(json_integer_value(json_object_get(o, "n")), (json_int_t)i,
                     "item %zu in element order", i);
        cr_assert_eq(json_integer_value(json_object_get(o, "index")), (json_int_t)i);
        cr_assert_null(json_object_get(o, "files"), "an instance's input omits the whole array");
    }
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    int peak = max_overlap(acts, "each");
    cr_assert_eq(peak, 3, "at most 3 instances at once, and 3 were reached: %d", peak);
    /* instances finished out of order: element 3 (100 ms) before element 0 (400 ms) */
    double fin0 = 0, fin3 = 0;
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a)
    {
        json_t *att = json_array_get(json_object_get(a, "attempts"), 0);
        if (str(a, "instance_of") && json_integer_value(json_object_get(a, "map_index")) == 0)
            fin0 = json_number_value(json_object_get(att, "finished"));
        if (str(a, "instance_of") && json_integer_value(json_object_get(a, "map_index")) == 3)
            fin3 = json_number_value(json_object_get(att, "finished"));
    }
    cr_assert_lt(fin3, fin0, "element 3 finished before element 0");
    json_t *each = harness_activity(acts, "each");
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(each, "instances"), "completed")), 12);
    json_decref(acts);
    char *args = weft_xasprintf("status %s", uid), *out = NULL;
    cr_assert_eq(weft(args, &out), 0);
    cr_assert(strstr(out, "12/12 completed"), "status sums the instances up: %s", out);
    cr_assert_null(strstr(out, "each[3]"), "text status lists no instance: %s", out);
    free(out);
    free(args);
}

Test(compose, while_a_map_runs_status_shows_its_instances_grouped)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"compose_map_status\",\"activities\":["
                   "{\"name\":\"download_each\",\"task\":\"sleep\",\"params\":{\"ms\":1500},"
                   "\"map\":{\"over\":\"keys\",\"max_parallel\":3}}]}",
                   "{\"keys\":[1,2,3,4,5,6,7,8]}", uid);
    json_decref(harness_wait_activity(uid, "download_each", "running", 20));
    char *args = weft_xasprintf("status %s", uid), *out = NULL;
    bool seen = false;
    for (double t0 = weft_clock_s(); !seen && weft_clock_s() - t0 < 20;) {
        free(out);
        out = NULL;
        cr_assert_eq(weft(args, &out), 0);
        seen = strstr(out, "/8 completed, 3 running") != NULL;
        if (!seen)
            weft_clock_sleep_ms(100);
    }
    cr_assert(seen, "status shows 'N/8 completed, 3 running': %s", out);
    cr_assert(strstr(out, "progress: "), "%s", out);
    free(out);
    free(args);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    weft_workflow_info_finish(&w);
}

Test(compose, an_empty_array_gives_no_items_and_the_workflow_goes_on)
{
    char uid[WEFT_UUID_LEN + 1];
    weft_workflow_info w;
    run_completed("{\"name\":\"compose_empty\",\"activities\":["
                  "{\"name\":\"each\",\"task\":\"sleep\",\"map\":{\"over\":\"files\"}},"
                  "{\"name\":\"after\",\"task\":\"noop\",\"depends_on\":[\"each\"]}]}",
                  "{\"files\":[]}", 30, uid, &w);
    json_t *items = json_object_get(json_object_get(w.output, "after"), "items");
    cr_assert(json_is_array(items) && json_array_size(items) == 0, "{\"items\": []}");
    weft_workflow_info_finish(&w);
}

Test(compose, a_map_over_a_non_array_fails_permanent_naming_the_activity_and_key)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"compose_nonarray\",\"activities\":["
                   "{\"name\":\"each\",\"task\":\"sleep\",\"map\":{\"over\":\"files\"}}]}",
                   "{\"files\":\"a.txt\"}", uid);
    harness_expect_failed(uid, "each", 1, 30, "activity 'each': map over 'files': not an array",
                          NULL);
    char uid2[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"compose_nokey\",\"activities\":["
                   "{\"name\":\"each\",\"task\":\"sleep\",\"map\":{\"over\":\"files\"}}]}",
                   "{}", uid2);
    harness_expect_failed(uid2, "each", 1, 30, "map over 'files': not an array", "no such key",
                          NULL);
}

Test(compose, an_instance_failing_for_good_after_its_retries_fails_the_map_and_cancels_the_rest)
{
    char uid[WEFT_UUID_LEN + 1];
    /* element 0 keeps failing TRANSIENT; with max_parallel 1 the other seven are waiting */
    harness_submit(
        "{\"name\":\"compose_map_fail\",\"activities\":["
        "{\"name\":\"each\",\"task\":\"fail\",\"map\":{\"over\":\"xs\",\"max_parallel\":1},"
        "\"retry\":{\"max_retries\":2,\"initial_delay_ms\":50,\"max_delay_ms\":100}},"
        "{\"name\":\"after\",\"task\":\"noop\",\"depends_on\":[\"each\"]}]}",
        "{\"xs\":[{\"times\":99,\"code\":\"TRANSIENT\",\"message\":\"flaky\"},{\"times\":0},"
        "{\"times\":0},{\"times\":0},{\"times\":0},{\"times\":0},{\"times\":0},{\"times\":0}]}",
        uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_assert(strstr(w.error, "activity 'each' failed: instance each[0] failed: flaky"), "%s",
              w.error);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    json_t *bad = harness_activity(acts, "each[0]");
    cr_assert_eq(json_integer_value(json_object_get(bad, "attempt")), 3,
                 "the instance retried on its own policy");
    int canceled = 0;
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a) canceled += strcmp(str(a, "status"), "canceled") == 0;
    cr_assert_eq(canceled, 8, "the 7 waiting instances and `after` were canceled: %d", canceled);
    cr_assert_str_eq(str(harness_activity(acts, "each"), "status"), "failed");
    json_decref(acts);
}

Test(compose, a_map_of_child_workflows_runs_one_child_per_element)
{
    char uid[WEFT_UUID_LEN + 1];
    weft_workflow_info w;
    run_completed("{\"name\":\"compose_map_kids\",\"activities\":["
                  "{\"name\":\"kids\",\"task\":\"workflow\",\"map\":{\"over\":\"scans\","
                  "\"max_parallel\":2},\"params\":{\"definition\":{\"name\":\"per_scan\","
                  "\"activities\":[{\"name\":\"look\",\"task\":\"noop\"}]}}}]}",
                  "{\"scans\":[\"s1\",\"s2\",\"s3\",\"s4\"]}", 60, uid, &w);
    json_t *items = json_object_get(json_object_get(w.output, "kids"), "items");
    cr_assert_eq(json_array_size(items), 4);
    for (size_t i = 0; i < 4; i++) {
        char want[8];
        snprintf(want, sizeof want, "s%zu", i + 1);
        cr_assert_str_eq(str(json_object_get(json_array_get(items, i), "look"), "item"), want);
    }
    weft_workflow_info_finish(&w);
    expect_sql("SELECT count(*)::text FROM weft_workflow WHERE parent_uid = $1 AND "
               "status = 'completed'",
               uid, "4", "four children");
}

Test(compose, direct_mode_runs_maps_and_children)
{
    char *file = harness_write_temp(
        "{\"name\":\"compose_direct\",\"activities\":["
        "{\"name\":\"each\",\"task\":\"noop\",\"map\":{\"over\":\"xs\",\"max_parallel\":2}},"
        "{\"name\":\"kid\",\"task\":\"workflow\",\"depends_on\":[\"each\"],\"params\":"
        "{\"definition\":{\"name\":\"direct_kid\",\"activities\":[{\"name\":\"k\","
        "\"task\":\"noop\"}]}}}]}");
    char *args = weft_xasprintf("run '%s' --inputs '{\"xs\":[10,20,30]}'", file), *out = NULL;
    cr_assert_eq(weft(args, &out), 0, "weft run: %s", out);
    cr_assert(strstr(out, "\"item\": 30") || strstr(out, "\"item\":30"), "%s", out);
    cr_assert(strstr(out, "\"kid\""), "%s", out);
    free(out);
    free(args);
    unlink(file);
    free(file);
}

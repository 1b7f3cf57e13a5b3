/* The operator's commands against the running consumers: list filters and orders, watch
 * redraws in place on a terminal and prints plain lines when piped, graph renders through
 * Graphviz and as Mermaid with the statuses coloured, and dead list/show/requeue/drop act on
 * exactly the message named while losing and reordering nothing. The tools the tests drive
 * (script from util-linux, dot from Graphviz) must be installed: a missing one fails. */
#include "harness.h"

#include "alloc.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/weft-ops-it-XXXXXX";
static harness_procs procs;

/* A oneshot task that says how far it got four times, 0.6 s apart. */
static const char progress_sh[] =
    "read -r request\n"
    "id=\"$WEFT_ACTIVITY_UID/$WEFT_ATTEMPT\"\n"
    "for i in 1 2 3 4; do\n"
    "  printf '{\"id\":\"%s\",\"progress\":%d,\"message\":\"step %d of 4\"}\\n' \"$id\" "
    "$((i * 25)) \"$i\"\n"
    "  sleep 0.6\n"
    "done\n"
    "printf '{\"id\":\"%s\",\"status\":\"success\",\"data\":{\"steps\":4}}\\n' \"$id\"\n";

static char *path_in_dir(const char *name)
{
    return weft_xasprintf("%s/%s", dir, name);
}

static void write_file(const char *name, const char *text)
{
    char *path = path_in_dir(name);
    FILE *f = fopen(path, "w");
    cr_assert(f, "%s", path);
    fputs(text, f);
    fclose(f);
    free(path);
}

static void up(void)
{
    cr_assert(mkdtemp(dir));
    write_file("progress.sh", progress_sh);
    write_file("tasks.json", "{\"queues\": [\"default\"], \"tasks\": {\"sh.progress\": "
                             "{\"exec\": [\"sh\", \"progress.sh\"], \"mode\": \"oneshot\"}}}");
    char *tasks = path_in_dir("tasks.json");
    setenv("WEFT_TASKS_FILE", tasks, 1); /* entry for the names, the worker for the program */
    free(tasks);
    harness_start(&procs, 4);
}

static void down(void)
{
    harness_stop(&procs);
    char *cmd = weft_xasprintf("rm -rf '%s'", dir);
    harness_run(cmd, NULL);
    free(cmd);
}

TestSuite(ops_cli, .init = up, .fini = down, .timeout = 180);

/* Runs `weft ARGS` (a shell-quoted string) with stderr joined to stdout. */
static int weft(const char *args, char **out)
{
    char *cmd = weft_xasprintf("'%s' %s 2>&1", getenv("WEFT_BIN_WEFT"), args);
    int rc = harness_run(cmd, out);
    free(cmd);
    return rc;
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    cr_assert(o, "not JSON (%s): %s", je.text, text);
    return o;
}

static void require_tool(const char *tool, const char *package)
{
    char *cmd = weft_xasprintf("command -v %s >/dev/null", tool);
    cr_assert_eq(harness_run(cmd, NULL), 0, "this test needs '%s' (Debian package %s)", tool,
                 package);
    free(cmd);
}

static void submit_and_wait(const char *definition, char uid[WEFT_UUID_LEN + 1],
                            weft_workflow_status expect)
{
    weft_workflow_info w;
    harness_submit(definition, NULL, uid);
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, expect, "workflow %s ended %s: %s", uid,
                 weft_workflow_status_name(w.status), w.error ? w.error : "");
    weft_workflow_info_finish(&w);
}

Test(ops_cli, list_filters_by_status_and_name_newest_first_as_a_table_and_json)
{
    char name[64], def_ok[256], def_fail[256], uids[3][WEFT_UUID_LEN + 1];
    snprintf(name, sizeof name, "opslist-%d", (int)getpid());
    snprintf(def_ok, sizeof def_ok,
             "{\"name\":\"%s\",\"activities\":[{\"name\":\"a\",\"task\":\"noop\"},"
             "{\"name\":\"b\",\"task\":\"noop\",\"depends_on\":[\"a\"]}]}",
             name);
    snprintf(def_fail, sizeof def_fail,
             "{\"name\":\"%s\",\"activities\":[{\"name\":\"f\",\"task\":\"fail\","
             "\"params\":{\"message\":\"listed-failure\"}}]}",
             name);
    submit_and_wait(def_ok, uids[0], WEFT_WORKFLOW_COMPLETED);
    submit_and_wait(def_fail, uids[1], WEFT_WORKFLOW_FAILED);
    submit_and_wait(def_ok, uids[2], WEFT_WORKFLOW_COMPLETED);

    char args[256], *out;
    snprintf(args, sizeof args, "list --name %s --json", name);
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    json_t *rows = parse(out);
    free(out);
    cr_assert_eq(json_array_size(rows), 3);
    for (int i = 0; i < 3; i++) {
        json_t *r = json_array_get(rows, (size_t)i);
        cr_assert_str_eq(json_string_value(json_object_get(r, "uid")), uids[2 - i], "newest first");
        cr_assert_str_eq(json_string_value(json_object_get(r, "name")), name);
        cr_assert(json_is_string(json_object_get(r, "created_at")));
        cr_assert(json_is_number(json_object_get(r, "duration_s")));
    }
    json_t *failed = json_array_get(rows, 1);
    cr_assert_str_eq(json_string_value(json_object_get(failed, "status")), "failed");
    cr_assert(strstr(json_string_value(json_object_get(failed, "error")), "listed-failure"));
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "done")), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "total")), 2);
    json_decref(rows);

    snprintf(args, sizeof args, "list --name %s --status failed --json", name);
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    rows = parse(out);
    free(out);
    cr_assert_eq(json_array_size(rows), 1, "only the failed one");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "uid")), uids[1]);
    json_decref(rows);

    snprintf(args, sizeof args, "list --name %s --limit 1", name);
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    cr_assert(strstr(out, "UID") && strstr(out, "STATUS") && strstr(out, "ERROR"), "%s", out);
    cr_assert(strstr(out, uids[2]) && !strstr(out, uids[1]) && !strstr(out, uids[0]),
              "--limit 1: the newest alone: %s", out);
    cr_assert(strstr(out, "2/2") && strstr(out, "completed"), "%s", out);
    free(out);

    snprintf(args, sizeof args, "list --name %s --status failed", name);
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    cr_assert(strstr(out, "listed-failure"), "the error column: %s", out);
    free(out);

    cr_assert_eq(weft("list --status done", &out), 3);
    cr_assert(strstr(out, "'done'") && strstr(out, "pending, running, completed, failed, canceled"),
              "names the valid statuses: %s", out);
    free(out);
    cr_assert_eq(weft("list --limit 0", &out), 3);
    free(out);
}

static const char progress_def[] =
    "{\"name\":\"watched\",\"activities\":[{\"name\":\"first\",\"task\":\"noop\"},"
    "{\"name\":\"p\",\"task\":\"sh.progress\",\"depends_on\":[\"first\"]}]}";

Test(ops_cli, watch_redraws_in_place_on_a_terminal_and_exits_like_wait)
{
    require_tool("script", "util-linux (bsdutils)");
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(progress_def, NULL, uid);
    /* script gives weft a pseudo-terminal; -e: its exit status is weft's */
    char *cmd = weft_xasprintf("script -qefc \"'%s' watch %s --interval 0.2\" /dev/null",
                               getenv("WEFT_BIN_WEFT"), uid);
    char *out;
    int rc = harness_run(cmd, &out);
    free(cmd);
    cr_assert_eq(rc, 0, "watch exits 0 on completion: %s", out);
    cr_assert(strstr(out, "\033[?25l") && strstr(out, "\033[2K"), "escape codes: %s", out);
    bool moved_up = false;
    for (const char *p = out; (p = strstr(p, "\r\033[")); p += 3) {
        size_t digits = strspn(p + 3, "0123456789");
        moved_up |= digits > 0 && p[3 + digits] == 'A';
    }
    cr_assert(moved_up, "a redraw moves the cursor up over the last frame: %s", out);
    cr_assert(strstr(out, "step 1 of 4") || strstr(out, "step 2 of 4"),
              "a running activity's bar with its message: %s", out);
    cr_assert(strstr(out, "[######"), "a bar partly filled: %s", out);
    cr_assert(strstr(out, "completed  2/2"), "the final state: %s", out);
    cr_assert(strstr(out, "\"steps\": 4"), "then the output JSON, as wait prints it: %s", out);
    free(out);
}

Test(ops_cli, watch_prints_plain_lines_on_change_when_piped_and_times_out_with_2)
{
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(progress_def, NULL, uid);
    char *cmd = weft_xasprintf("'%s' watch %s --interval 0.2 | cat", getenv("WEFT_BIN_WEFT"), uid);
    char *out;
    cr_assert_eq(harness_run(cmd, &out), 0, "%s", out);
    free(cmd);
    cr_assert(!strchr(out, '\033'), "no escape codes when piped: %s", out);
    cr_assert(strstr(out, "activity p: running (attempt 1)"), "%s", out);
    cr_assert(strstr(out, "activity p: 25% step 1 of 4") &&
                  strstr(out, "activity p: 75% step 3 of 4"),
              "each progress once: %s", out);
    cr_assert(strstr(out, "activity p: completed (attempt 1)"), "%s", out);
    cr_assert(strstr(out, "progress: 2/2"), "%s", out);
    cr_assert(strstr(out, ": completed\n"), "the workflow's end: %s", out);
    /* lines only on change: polled 5 times a second for ~3 s, yet no line repeats */
    const char *prev = NULL;
    size_t prev_len = 0;
    for (const char *line = out; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        cr_assert(!(prev && len == prev_len && memcmp(prev, line, len) == 0 && line[0] != ' ' &&
                    line[0] != '}' && line[0] != '{'),
                  "a line repeated: %.*s", (int)len, line);
        prev = line;
        prev_len = len;
        line += len + (nl ? 1 : 0);
    }
    free(out);

    harness_submit("{\"name\":\"long\",\"activities\":[{\"name\":\"s\",\"task\":\"sleep\","
                   "\"params\":{\"ms\":4000}}]}",
                   NULL, uid);
    char args[128];
    snprintf(args, sizeof args, "watch %s --timeout 1", uid);
    cr_assert_eq(weft(args, &out), 2, "timeout exits 2: %s", out);
    cr_assert(strstr(out, "timed out"), "%s", out);
    free(out);
}

/* The lines of a Mermaid flowchart as weft writes it: a header, quoted node labels with no
 * raw quote inside, edges between declared nodes, a classDef for each class used. */
static void check_mermaid(const char *text, size_t nodes, size_t edges)
{
    cr_assert(strncmp(text, "flowchart LR\n", 13) == 0, "%s", text);
    size_t n_nodes = 0, n_edges = 0;
    char used[8][16] = {{0}}, defined[8][16] = {{0}};
    size_t n_used = 0, n_defined = 0;
    char *copy = weft_xstrdup(text + 13), *save, *line;
    for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned a, b;
        int end = 0;
        char cls[16];
        if (sscanf(line, "  n%u --> n%u%n", &a, &b, &end) == 2 && line[end] == '\0') {
            cr_assert(a < nodes && b < nodes, "edge to an undeclared node: %s", line);
            n_edges++;
        } else if (sscanf(line, "  classDef %15s fill:#%*6[0-9a-f]%n", cls, &end) == 1 && end) {
            snprintf(defined[n_defined++], 16, "%s", cls);
        } else if (sscanf(line, "  n%u[\"%n", &a, &end) == 1 && end) {
            cr_assert_eq(a, n_nodes, "nodes in order: %s", line);
            const char *close = strstr(line + end, "\"]");
            cr_assert(close, "a label closed by \"]: %s", line);
            for (const char *p = line + end; p < close; p++)
                cr_assert(*p != '"', "a raw quote inside a label: %s", line);
            if (strncmp(close + 2, ":::", 3) == 0)
                snprintf(used[n_used++], 16, "%s", close + 5);
            else
                cr_assert_eq(close[2], '\0', "%s", line);
            n_nodes++;
        } else {
            cr_assert_fail("not a line of weft's Mermaid: '%s'", line);
        }
    }
    free(copy);
    cr_assert_eq(n_nodes, nodes, "%s", text);
    cr_assert_eq(n_edges, edges, "%s", text);
    for (size_t i = 0; i < n_used; i++) {
        bool found = false;
        for (size_t k = 0; k < n_defined; k++)
            found |= strcmp(used[i], defined[k]) == 0;
        cr_assert(found, "class %s has no classDef: %s", used[i], text);
    }
}

Test(ops_cli, graph_renders_with_graphviz_and_as_mermaid_coloured_by_status)
{
    require_tool("dot", "graphviz");
    char uid[WEFT_UUID_LEN + 1];
    submit_and_wait("{\"name\":\"graphed\",\"activities\":["
                    "{\"name\":\"fetch.v2\",\"task\":\"noop\"},"
                    "{\"name\":\"load-x\",\"task\":\"fail\",\"depends_on\":[\"fetch.v2\"]},"
                    "{\"name\":\"end\",\"task\":\"noop\",\"depends_on\":[\"load-x\"]}]}",
                    uid, WEFT_WORKFLOW_FAILED);
    char *svg_path = path_in_dir("graph.svg");
    char *cmd =
        weft_xasprintf("'%s' graph %s | dot -Tsvg > '%s'", getenv("WEFT_BIN_WEFT"), uid, svg_path);
    cr_assert_eq(harness_run(cmd, NULL), 0, "dot -Tsvg renders weft graph");
    free(cmd);
    cmd = weft_xasprintf("cat '%s'", svg_path);
    char *svg;
    cr_assert_eq(harness_run(cmd, &svg), 0);
    free(cmd);
    cr_assert(strstr(svg, "<title>fetch.v2</title>") && strstr(svg, "<title>load&#45;x</title>"),
              "odd names draw as themselves: %s", svg);
    cr_assert(strstr(svg, "fill=\"#a5d6a7\""), "completed is green: %s", svg);
    cr_assert(strstr(svg, "fill=\"#ef9a9a\""), "failed is red: %s", svg);
    cr_assert(strstr(svg, "fill=\"#b0bec5\""), "canceled is grey: %s", svg);
    free(svg);

    char args[128], *out;
    snprintf(args, sizeof args, "graph %s --format mermaid", uid);
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    check_mermaid(out, 3, 2);
    cr_assert(strstr(out, ":::completed") && strstr(out, ":::failed") && strstr(out, ":::canceled"),
              "%s", out);
    free(out);

    /* a definition file: no statuses, the same checks */
    char *def = harness_write_temp(
        "{\"name\":\"file-graph\",\"activities\":[{\"name\":\"node\",\"task\":\"noop\"},"
        "{\"name\":\"a.b-c\",\"task\":\"noop\",\"depends_on\":[\"node\"]},"
        "{\"name\":\"subgraph\",\"task\":\"noop\",\"depends_on\":[\"node\",\"a.b-c\"]}]}");
    cmd = weft_xasprintf("'%s' graph '%s' | dot -Tsvg | grep -c '<g id=\"node'",
                         getenv("WEFT_BIN_WEFT"), def);
    cr_assert_eq(harness_run(cmd, &out), 0);
    cr_assert_eq(atoi(out), 3, "three nodes, DOT keywords as names included: %s", out);
    free(out);
    free(cmd);
    snprintf(args, sizeof args, "graph '%s' --format mermaid", def);
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    check_mermaid(out, 3, 3);
    free(out);
    cr_assert_eq(weft("graph 00000000-0000-4000-8000-000000000000", &out), 3);
    cr_assert(strstr(out, "unknown workflow"), "%s", out);
    free(out);
    remove(def);
    free(def);
    free(svg_path);
}

/* weft.dead emptied, so that positions are the test's own. */
static void drain_dead(void)
{
    weft_broker *b = harness_broker();
    weft_delivery d;
    weft_err err = {0};
    while (weft_broker_get(b, WEFT_QUEUE_DEAD, &d, &err) == WEFT_OK)
        weft_delivery_finish(&d);
    weft_broker_destroy(b);
}

static uint32_t ready(const char *queue)
{
    weft_broker *b = harness_broker();
    uint32_t n = 0;
    weft_err err = {0};
    cr_assert_eq(weft_broker_queue_info(b, queue, &n, NULL, &err), WEFT_OK, "%s", err.msg);
    weft_broker_destroy(b);
    return n;
}

static void wait_dead(uint32_t n)
{
    for (int i = 0; i < 200 && ready(WEFT_QUEUE_DEAD) < n; i++)
        usleep(100 * 1000);
    cr_assert_eq(ready(WEFT_QUEUE_DEAD), n, "weft.dead holds %u", n);
}

/* weft dead list --json's message ids, in order (each a new string in ids). */
static size_t listed_ids(char ids[][64], size_t max)
{
    char *out;
    cr_assert_eq(weft("dead list --json", &out), 0, "%s", out);
    json_t *o = parse(out);
    free(out);
    json_t *listed = json_object_get(o, "listed");
    size_t n = json_array_size(listed);
    cr_assert_leq(n, max);
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(listed, i);
        cr_assert_eq(json_integer_value(json_object_get(m, "position")), (json_int_t)i + 1);
        snprintf(ids[i], 64, "%s", json_string_value(json_object_get(m, "message_id")));
    }
    json_decref(o);
    return n;
}

Test(ops_cli, dead_list_and_show_give_reasons_and_lose_or_reorder_nothing)
{
    drain_dead();
    harness_publish(WEFT_QUEUE_ENTRY, "{not json ops-m1");
    wait_dead(1);
    harness_publish(WEFT_QUEUE_DEFAULT, "{\"ops-m2\": 1}");
    wait_dead(2);

    char *out;
    cr_assert_eq(weft("dead list --json", &out), 0, "%s", out);
    json_t *o = parse(out);
    free(out);
    cr_assert_eq(json_integer_value(json_object_get(o, "messages")), 2);
    json_t *listed = json_object_get(o, "listed");
    cr_assert_eq(json_array_size(listed), 2);
    json_t *m1 = json_array_get(listed, 0), *m2 = json_array_get(listed, 1);
    cr_assert_str_eq(json_string_value(json_object_get(m1, "queue")), WEFT_QUEUE_ENTRY);
    cr_assert(strstr(json_string_value(json_object_get(m1, "reason")), "not valid JSON"));
    cr_assert_str_eq(json_string_value(json_object_get(m2, "queue")), WEFT_QUEUE_DEFAULT);
    cr_assert(strstr(json_string_value(json_object_get(m2, "reason")), "workflow_uid"));
    char id1[64], id2[64];
    snprintf(id1, sizeof id1, "%s", json_string_value(json_object_get(m1, "message_id")));
    snprintf(id2, sizeof id2, "%s", json_string_value(json_object_get(m2, "message_id")));
    json_decref(o);

    cr_assert_eq(weft("dead list", &out), 0, "%s", out);
    cr_assert(strstr(out, "weft.dead: 2 messages") && strstr(out, id1) && strstr(out, id2) &&
                  strstr(out, "not valid JSON"),
              "%s", out);
    free(out);
    cr_assert_eq(weft("dead show 2", &out), 0, "%s", out);
    cr_assert(strstr(out, id2) && strstr(out, "{\"ops-m2\": 1}") && strstr(out, "x-weft-reason"),
              "%s", out);
    free(out);
    char args[128];
    snprintf(args, sizeof args, "dead show %s --json", id1);
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    o = parse(out);
    free(out);
    cr_assert_str_eq(json_string_value(json_object_get(o, "body")), "{not json ops-m1");
    cr_assert_eq(json_integer_value(json_object_get(o, "position")), 1);
    json_decref(o);
    snprintf(args, sizeof args, "dead show 1 --id %s", id2);
    cr_assert_eq(weft(args, &out), 3, "--id refuses another message: %s", out);
    cr_assert(strstr(out, "not ") && strstr(out, id2), "%s", out);
    free(out);
    cr_assert_eq(weft("dead show 3", &out), 3, "%s", out);
    free(out);

    /* after all those reads, the queue is what it was: both, in order, nothing more */
    weft_broker *b = harness_broker();
    weft_delivery d;
    weft_err err = {0};
    const char *bodies[] = {"{not json ops-m1", "{\"ops-m2\": 1}"};
    const char *ids[] = {id1, id2};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(weft_broker_get(b, WEFT_QUEUE_DEAD, &d, &err), WEFT_OK, "message %d", i + 1);
        cr_assert_str_eq(d.body, bodies[i], "in order");
        cr_assert_str_eq(d.message_id, ids[i]);
        weft_delivery_finish(&d);
    }
    cr_assert_eq(weft_broker_get(b, WEFT_QUEUE_DEAD, &d, &err), WEFT_ENOTFOUND, "nothing more");
    weft_broker_destroy(b);
}

Test(ops_cli, dead_requeue_puts_the_exact_message_back_and_drop_removes_exactly_one)
{
    drain_dead();
    const char *bodies[] = {"{\"ops-r1\": 1}", "[\"ops-r2\"]", "{\"ops-r3\": \"x\"}"};
    const char *queues[] = {WEFT_QUEUE_DEFAULT, WEFT_QUEUE_ENTRY, WEFT_QUEUE_DEFAULT};
    for (uint32_t i = 0; i < 3; i++) {
        harness_publish(queues[i], bodies[i]);
        wait_dead(i + 1);
    }
    /* nobody consumes default now: what is requeued there stays to be looked at */
    kill(procs.activity, SIGTERM);
    cr_assert_eq(waitpid(procs.activity, NULL, 0), procs.activity);
    procs.activity = 0;
    char ids[3][64];
    cr_assert_eq(listed_ids(ids, 3), 3);

    char args[160], *out;
    snprintf(args, sizeof args, "dead requeue 1 --id %s", ids[2]);
    cr_assert_eq(weft(args, &out), 3, "the message at 1 is not the one named: %s", out);
    free(out);
    cr_assert_eq(ready(WEFT_QUEUE_DEAD), 3, "a refusal changes nothing");

    snprintf(args, sizeof args, "dead requeue 3 --id %s", ids[2]);
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    cr_assert(strstr(out, "requeued to default"), "%s", out);
    free(out);
    cr_assert_eq(ready(WEFT_QUEUE_DEAD), 2, "acked out of weft.dead");
    weft_broker *b = harness_broker();
    weft_delivery d;
    weft_broker_props *props;
    weft_err err = {0};
    cr_assert_eq(weft_broker_get_held(b, WEFT_QUEUE_DEFAULT, &d, &props, &err), WEFT_OK,
                 "back on its x-weft-queue");
    cr_assert_eq(d.len, strlen(bodies[2]));
    cr_assert_str_eq(d.body, bodies[2], "the exact body");
    cr_assert_str_eq(d.message_id, ids[2], "under its message id");
    json_t *meta = weft_broker_props_json(props);
    json_t *headers = json_object_get(meta, "headers");
    cr_assert(!json_object_get(headers, "x-weft-reason") &&
                  !json_object_get(headers, "x-weft-queue"),
              "without the dead-letter headers");
    cr_assert_str_eq(json_string_value(json_object_get(meta, "content_type")), "application/json");
    json_decref(meta);
    weft_broker_props_destroy(props);
    cr_assert_eq(weft_broker_ack(b, d.tag, &err), WEFT_OK);
    weft_delivery_finish(&d);
    weft_broker_destroy(b);

    snprintf(args, sizeof args, "dead drop %s", ids[0]);
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    free(out);
    char left[3][64];
    cr_assert_eq(listed_ids(left, 3), 1, "drop removed exactly one");
    cr_assert_str_eq(left[0], ids[1], "the other one stays");
    cr_assert_eq(weft("dead requeue 2", &out), 3, "%s", out);
    free(out);
    cr_assert_eq(weft("dead frobnicate 1", &out), 3, "%s", out);
    free(out);
    drain_dead();

    const char *act_args[] = {"--concurrency", "4", NULL};
    procs.activity = harness_spawn("weft-activity", act_args);
}

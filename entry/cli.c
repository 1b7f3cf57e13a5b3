/* weft: the command-line client. submit/resume publish to workflow_entry with a confirm;
 * status/wait/workers read Postgres; run executes a workflow in-process (direct mode). */
#include "cli.h"

#include "alloc.h"
#include "broker.h"
#include "catalog.h"
#include "clock.h"
#include "config.h"
#include "definition.h"
#include "direct.h"
#include "log.h"
#include "message.h"
#include "progress.h"
#include "runner.h"
#include "store.h"
#include "strbuf.h"
#include "taskfile.h"
#include "worker_tasks.h"
#include "tasks.h"
#include "uuid.h"
#include "workflow_report.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static const char usage[] =
    "usage: weft COMMAND [ARGS]\n"
    "  submit FILE.json [--inputs JSON|@FILE] [--uid UUID] [--wait] [--timeout S]\n"
    "         [--allow-unknown-tasks]\n"
    "         publish a workflow to workflow_entry; prints its uid as the last line. Its task\n"
    "         types must be built in, in WEFT_TASKS_FILE or declared by a registered worker\n"
    "         (checked in Postgres) unless --allow-unknown-tasks\n"
    "  submit --definition NAME [--version N] [--inputs JSON|@FILE] [--uid UUID] [--wait]\n"
    "  define FILE.json        store a definition under its name as a new version;\n"
    "                          prints NAME VERSION\n"
    "  definitions [--json]    the stored definitions\n"
    "  status UID [--json]     workflow status and its activities\n"
    "  wait UID [--timeout S]  wait for the end; prints the output JSON on success\n"
    "  resume UID [--wait] [--timeout S]\n"
    "         resume a failed workflow (completed activities are not run again)\n"
    "  cancel UID [--reason TEXT] [--wait] [--timeout S]\n"
    "         cancel a workflow: queued work is dropped, running attempts are stopped\n"
    "  run FILE.json [--inputs JSON|@FILE] [--task-timeout S] [--tasks TASKS.json]\n"
    "         run a workflow in this process (direct mode, no RabbitMQ); an attempt whose\n"
    "         activity sets no timeout_s is stopped after S seconds (WEFT_TASK_TIMEOUT_S,\n"
    "         default 3600; 0: no limit); --tasks (WEFT_TASKS_FILE) adds a task file's tasks\n"
    "  workers [--json]        the registered workers: queues, task types, heartbeat, state\n"
    "  limit set TASK N        at most N attempts of TASK run at once across all workers\n"
    "  limit set TASK --rate COUNT/UNIT\n"
    "         attempts of TASK start no faster than COUNT per s, m or h (e.g. 10/s)\n"
    "  limit list [--json]     the global limits\n"
    "  limit clear TASK        TASK unlimited again (its workers' own limits stay)\n"
    "  list [--status S] [--name N] [--limit N] [--json]\n"
    "         workflows, newest first (default limit 50)\n"
    "  watch UID [--interval S] [--timeout S]\n"
    "         live progress (redrawn in place on a terminal); exits like wait\n"
    "  graph FILE.json|UID [--format dot|mermaid]\n"
    "         the DAG as Graphviz DOT or Mermaid, coloured by status for a UID\n"
    "  dead list [--limit N] [--json]    the dead-letter queue weft.dead, with reasons\n"
    "  dead show N|ID [--id ID] [--json] one message: headers, properties, body\n"
    "  dead requeue N|ID [--id ID]       back to its queue (x-weft-queue), then removed\n"
    "  dead drop N|ID [--id ID]          removed; N is the position `dead list` shows,\n"
    "         ID its message id; --id refuses when the message at N is another one\n"
    "Exit codes: 0 completed/ok, 1 workflow failed or canceled, 2 timeout, 3 error.\n";

/* Loads and validates the definition file at path; prints the error and returns NULL when
 * it is invalid. */
static json_t *load_definition(const char *path, const weft_limits *limits)
{
    size_t len;
    char *text = weft_cli_read_file(path, &len);
    if (!text)
        return NULL;
    weft_err err = {0};
    char what[300];
    snprintf(what, sizeof what, "'%s'", path);
    json_t *doc = weft_json_parse(text, len, what, &err);
    free(text);
    if (!doc) {
        weft_cli_die("%s", err.msg);
        return NULL;
    }
    weft_definition *def;
    if (weft_definition_parse(doc, limits, NULL, &def, &err)) {
        weft_cli_die("'%s': invalid definition: %s", path, err.msg);
        json_decref(doc);
        return NULL;
    }
    weft_definition_destroy(def);
    return doc;
}

/* The --inputs of a (JSON text, @FILE, or none: {}); prints the error and returns NULL when
 * they are not an object. */
static json_t *load_inputs(const weft_cli_args *a)
{
    weft_err err = {0};
    json_t *inputs;
    if (a->inputs && a->inputs[0] == '@') {
        /* --inputs @FILE: the inputs from a file, as curl reads a body */
        size_t len;
        char *itext = weft_cli_read_file(a->inputs + 1, &len);
        if (!itext)
            return NULL;
        char what[300];
        snprintf(what, sizeof what, "--inputs '%s'", a->inputs + 1);
        inputs = weft_json_parse(itext, len, what, &err);
        free(itext);
    } else {
        inputs = a->inputs ? weft_json_parse(a->inputs, strlen(a->inputs), "--inputs", &err)
                           : json_object();
    }
    if (!inputs || !json_is_object(inputs)) {
        weft_cli_die("%s", inputs ? "--inputs must be a JSON object" : err.msg);
        json_decref(inputs);
        return NULL;
    }
    return inputs;
}

/* Loads the definition file and inputs; prints the error and returns false when invalid. */
static bool load_workflow(const weft_cli_args *a, const weft_limits *limits, json_t **doc,
                          json_t **inputs)
{
    *doc = load_definition(a->positional, limits);
    *inputs = *doc ? load_inputs(a) : NULL;
    if (*doc && !*inputs) {
        json_decref(*doc);
        *doc = NULL;
    }
    return *doc != NULL;
}

static int publish_entry(const weft_config *cfg, const char *body, size_t len)
{
    weft_err err = {0};
    weft_broker *b;
    if (weft_broker_connect(cfg->amqp_url, cfg->amqp_cacert, 0, &b, &err))
        return weft_cli_die("%s", err.msg);
    weft_status st = weft_broker_publish(b, WEFT_QUEUE_ENTRY, body, len, 0, &err);
    if (!st)
        st = weft_broker_wait_confirms(b, 30000, &err);
    weft_broker_destroy(b);
    return st ? weft_cli_die("%s", err.msg) : EXIT_DONE;
}

/* Waits until uid is terminal. stale_run_s >= 0: a terminal state that ended at that run time
 * is the one a resume was sent to leave, not its result (the entry may not have taken the
 * resume yet), so it is waited past. */
static int wait_for(const weft_config *cfg, const char *uid, double timeout_s, double stale_run_s)
{
    weft_store *s = weft_cli_open_store(cfg);
    if (!s)
        return EXIT_ERROR;
    double start = weft_clock_s();
    int rc = -1;
    while (rc < 0) {
        weft_workflow_info w;
        weft_err err = {0};
        weft_status st = weft_store_workflow(s, uid, &w, &err);
        double elapsed = weft_clock_s() - start;
        if (st == WEFT_ENOTFOUND && elapsed > WEFT_CLI_UNKNOWN_GRACE_S &&
            (timeout_s < 0 || timeout_s > WEFT_CLI_UNKNOWN_GRACE_S))
            rc = weft_cli_die("unknown workflow %s", uid);
        else if (st && st != WEFT_ENOTFOUND)
            rc = weft_cli_die("%s", err.msg);
        else if (!st && weft_workflow_status_terminal(w.status) &&
                 !(stale_run_s >= 0 && fabs(w.run_s - stale_run_s) < 1e-6))
            rc = weft_cli_report(&w);
        else if (timeout_s >= 0 && elapsed >= timeout_s)
            rc = (fprintf(stderr, "weft: timed out after %.1f s waiting for %s (%s)\n", elapsed,
                          uid, st ? "not created yet" : weft_workflow_status_name(w.status)),
                  EXIT_TIMEOUT);
        if (!st)
            weft_workflow_info_finish(&w);
        if (rc < 0) {
            int ms = 500;
            if (timeout_s >= 0 && (timeout_s - elapsed) * 1000 < ms)
                ms = (int)((timeout_s - elapsed) * 1000) + 1;
            st = weft_store_wait_notify(s, ms, &err);
            if (st && st != WEFT_ETIMEOUT)
                rc = weft_cli_die("%s", err.msg);
        }
    }
    weft_store_destroy(s);
    return rc;
}

/* The check weft-entry makes of doc's task types (catalog.h), made here first so that a
 * misspelt one is refused before anything is sent: EXIT_DONE when they are all known. */
static int check_task_types(const weft_config *cfg, const weft_cli_args *a, const json_t *doc)
{
    weft_err err = {0};
    weft_task_registry *local = NULL;
    if (weft_worker_task_names(cfg->tasks_file, &local, &err))
        return weft_cli_die("%s", err.msg);
    weft_catalog *catalog = weft_catalog_create(local);
    weft_task_registry_destroy(local);
    weft_store *s = NULL;
    weft_definition *def = NULL;
    weft_status st = weft_store_connect(cfg->database_url, &s, &err);
    if (!st)
        st = weft_catalog_parse(catalog, s, doc, &cfg->limits, &def, &err);
    weft_definition_destroy(def);
    weft_store_destroy(s);
    weft_catalog_destroy(catalog);
    if (st == WEFT_ENOTFOUND)
        return weft_cli_die("'%s': invalid definition: %s", a->positional, err.msg);
    if (st)
        return weft_cli_die("cannot check the task types of '%s': %s (--allow-unknown-tasks skips the"
                   " check)",
                   a->positional, err.msg);
    return EXIT_DONE;
}

/* Checks that the stored definition a->definition (version a->version, else the latest)
 * exists; *version gets the version to send (0: the latest, resolved by weft-entry when it
 * creates, so a define in between wins as it would for any later message). Prints the
 * error and returns false otherwise. */
static bool find_definition(const weft_config *cfg, const weft_cli_args *a, int *version)
{
    long v = 0;
    if (a->version && !weft_parse_int(a->version, 1, INT32_MAX, &v)) {
        weft_cli_die("--version must be a whole number >= 1");
        return false;
    }
    if (!weft_name_valid(a->definition)) {
        weft_cli_die("--definition '%s' is not a definition's name ([A-Za-z0-9_.-], 1..64 characters)",
            a->definition);
        return false;
    }
    weft_store *s = weft_cli_open_store(cfg);
    if (!s)
        return false;
    json_t *doc = NULL;
    int found = 0;
    weft_err err = {0};
    weft_status st = weft_store_definition(s, a->definition, (int)v, &doc, &found, &err);
    weft_store_destroy(s);
    json_decref(doc);
    if (st) {
        weft_cli_die("%s", err.msg);
        return false;
    }
    *version = (int)v;
    return true;
}

static int cmd_define(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_args(argc, argv, &a, 0))
        return EXIT_ERROR;
    json_t *doc = load_definition(a.positional, &cfg->limits);
    if (!doc)
        return EXIT_ERROR;
    weft_store *s = weft_cli_open_store(cfg);
    if (!s) {
        json_decref(doc);
        return EXIT_ERROR;
    }
    const char *name = json_string_value(json_object_get(doc, "name"));
    int version = 0;
    bool created = false;
    weft_err err = {0};
    weft_status st = weft_store_define(s, name, doc, &version, &created, &err);
    weft_store_destroy(s);
    if (st) {
        json_decref(doc);
        return weft_cli_die("%s", err.msg);
    }
    if (!created)
        fprintf(stderr, "weft: '%s' equals version %d of '%s': nothing stored\n", a.positional,
                version, name);
    printf("%s %d\n", name, version);
    json_decref(doc);
    return EXIT_DONE;
}

static int cmd_definitions(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_args(argc, argv, &a, OPT_JSON | WEFT_CLI_NO_ARG))
        return EXIT_ERROR;
    json_t *list = weft_cli_read_listing(cfg, weft_store_definitions);
    if (!list)
        return EXIT_ERROR;
    if (a.json) {
        weft_cli_print_json(list);
    } else {
        printf("%-40s %7s %8s  %s\n", "NAME", "LATEST", "VERSIONS", "UPDATED");
        size_t i;
        json_t *d;
        json_array_foreach(list, i, d)
        {
            printf("%-40s %7d %8d  %s\n", json_string_value(json_object_get(d, "name")),
                   (int)json_integer_value(json_object_get(d, "latest_version")),
                   (int)json_integer_value(json_object_get(d, "versions")),
                   json_string_value(json_object_get(d, "updated_at")));
        }
    }
    json_decref(list);
    return EXIT_DONE;
}

static int cmd_submit(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_args(argc, argv, &a,
                    OPT_INPUTS | OPT_UID | OPT_WAIT | OPT_TIMEOUT | OPT_ALLOW_UNKNOWN_TASKS |
                        OPT_DEFINITION | OPT_VERSION))
        return EXIT_ERROR;
    if (a.uid && !weft_uuid_valid(a.uid))
        return weft_cli_die("--uid '%s' is not a UUID", a.uid);
    char uid[WEFT_UUID_LEN + 1];
    if (a.uid)
        snprintf(uid, sizeof uid, "%s", a.uid);
    else
        weft_uuid_new(uid);
    size_t len;
    char *body;
    if (a.definition) {
        int version = 0;
        json_t *inputs = load_inputs(&a);
        if (!inputs || !find_definition(cfg, &a, &version)) {
            json_decref(inputs);
            return EXIT_ERROR;
        }
        body = weft_msg_encode_named(a.definition, version, inputs, uid, &len);
        json_decref(inputs);
    } else {
        json_t *doc, *inputs;
        if (!load_workflow(&a, &cfg->limits, &doc, &inputs))
            return EXIT_ERROR;
        if (!a.allow_unknown_tasks && check_task_types(cfg, &a, doc) != EXIT_DONE) {
            json_decref(doc);
            json_decref(inputs);
            return EXIT_ERROR;
        }
        body = weft_msg_encode_entry(doc, inputs, uid, &len);
        json_decref(doc);
        json_decref(inputs);
    }
    int rc = len > cfg->limits.max_message_bytes
                 ? weft_cli_die("workflow message of %zu bytes is over the %zu-byte limit", len,
                       cfg->limits.max_message_bytes)
                 : publish_entry(cfg, body, len);
    free(body);
    if (rc)
        return rc;
    if (a.wait) {
        fprintf(stderr, "%s\n", uid);
        return wait_for(cfg, uid, a.timeout_s, -1);
    }
    printf("%s\n", uid);
    return EXIT_DONE;
}

static int cmd_resume(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_uid_args(argc, argv, &a, OPT_WAIT | OPT_TIMEOUT))
        return EXIT_ERROR;
    weft_store *s = weft_cli_open_store(cfg);
    if (!s)
        return EXIT_ERROR;
    weft_workflow_info w;
    weft_err err = {0};
    weft_status st = weft_store_workflow(s, a.positional, &w, &err);
    weft_store_destroy(s);
    if (st)
        return weft_cli_die("%s", err.msg);
    fprintf(stderr, "weft: resuming %s workflow %s\n", weft_workflow_status_name(w.status), w.uid);
    double stale_run_s = w.status == WEFT_WORKFLOW_FAILED ? w.run_s : -1;
    weft_workflow_info_finish(&w);
    size_t len;
    char *body = weft_msg_encode_entry(NULL, NULL, a.positional, &len);
    int rc = publish_entry(cfg, body, len);
    free(body);
    if (rc || !a.wait)
        return rc;
    return wait_for(cfg, a.positional, a.timeout_s, stale_run_s);
}

static int cmd_cancel(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_uid_args(argc, argv, &a, OPT_REASON | OPT_WAIT | OPT_TIMEOUT))
        return EXIT_ERROR;
    if (a.reason && strlen(a.reason) > WEFT_CANCEL_REASON_MAX)
        return weft_cli_die("--reason is longer than %d bytes", WEFT_CANCEL_REASON_MAX);
    weft_store *s = weft_cli_open_store(cfg);
    if (!s)
        return EXIT_ERROR;
    weft_workflow_info w;
    weft_err err = {0};
    weft_status st = weft_store_workflow(s, a.positional, &w, &err);
    weft_store_destroy(s);
    if (st)
        return weft_cli_die("%s", err.msg);
    if (weft_workflow_status_terminal(w.status)) {
        /* sent anyway: the entry consumer decides, and says "nothing to do" in its log */
        fprintf(stderr, "weft: workflow %s is already %s: the cancel will change nothing\n",
                w.uid, weft_workflow_status_name(w.status));
    } else {
        fprintf(stderr, "weft: canceling %s workflow %s\n", weft_workflow_status_name(w.status),
                w.uid);
    }
    weft_workflow_info_finish(&w);
    size_t len;
    char *body = weft_msg_encode_cancel(a.positional, a.reason, &len);
    int rc = publish_entry(cfg, body, len);
    free(body);
    if (rc || !a.wait)
        return rc;
    return wait_for(cfg, a.positional, a.timeout_s, -1);
}

static int cmd_wait(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_uid_args(argc, argv, &a, OPT_TIMEOUT))
        return EXIT_ERROR;
    return wait_for(cfg, a.positional, a.timeout_s, -1);
}

static int cmd_status(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_uid_args(argc, argv, &a, OPT_JSON))
        return EXIT_ERROR;
    weft_store *s = weft_cli_open_store(cfg);
    if (!s)
        return EXIT_ERROR;
    weft_workflow_info w;
    json_t *acts = NULL;
    weft_err err = {0};
    weft_status st = weft_store_workflow(s, a.positional, &w, &err);
    if (!st)
        st = weft_store_activities(s, a.positional, &acts, &err);
    weft_store_destroy(s);
    if (st)
        return weft_cli_die("%s", err.msg);
    json_t *progress = weft_progress_summary(acts);
    if (a.json) {
        json_t *o = weft_workflow_report(&w, acts, progress);
        weft_cli_print_json(o);
        json_decref(o);
    } else {
        char summary[256];
        printf("workflow %s (%s): %s, %d activities, %.3f s\n", w.uid, w.name,
               weft_workflow_status_name(w.status), w.total, w.run_s);
        printf("progress: %s\n", weft_progress_format(progress, summary, sizeof summary));
        if (w.parent_uid[0])
            printf("parent: %s (activity %s)\n", w.parent_uid, w.parent_activity);
        if (w.error)
            printf("error: %s\n", w.error);
        printf("%-24s %-14s %-10s %7s %10s %8s  %s\n", "ACTIVITY", "TASK", "STATUS", "ATTEMPT",
               "DURATION", "PROGRESS", "ERROR / MESSAGE");
        size_t i;
        json_t *act;
        json_array_foreach(acts, i, act)
        {
            if (json_is_string(json_object_get(act, "instance_of")))
                continue; /* summed up on their map's line; --json lists each */
            json_t *d = json_object_get(act, "duration_s");
            char dur[32] = "-";
            if (json_is_number(d))
                snprintf(dur, sizeof dur, "%.3fs", json_number_value(d));
            const char *error = json_string_value(json_object_get(act, "error"));
            json_t *pct = json_object_get(act, "progress");
            const char *pmsg = json_string_value(json_object_get(act, "progress_message"));
            char pcol[16] = "-";
            if (json_is_number(pct))
                snprintf(pcol, sizeof pcol, "%.0f%%", json_number_value(pct));
            /* queued, but sent round by a limit: say which, not just "queued" */
            const char *waiting = json_string_value(json_object_get(act, "waiting"));
            char wait_line[300] = "";
            if (waiting)
                snprintf(wait_line, sizeof wait_line, "waiting: %s", waiting);
            char detail[256];
            const json_t *instances = json_object_get(act, "instances");
            const char *child = json_string_value(json_object_get(act, "child_uid"));
            if (json_is_object(instances) && !error)
                pmsg = weft_progress_instances_format(instances, detail, sizeof detail);
            else if (child && !error) {
                snprintf(detail, sizeof detail, "child %s", child);
                pmsg = detail;
            }
            printf("%-24s %-14s %-10s %7d %10s %8s  %s\n",
                   json_string_value(json_object_get(act, "name")),
                   json_string_value(json_object_get(act, "task")),
                   waiting ? "waiting" : json_string_value(json_object_get(act, "status")),
                   (int)json_integer_value(json_object_get(act, "attempt")), dur, pcol,
                   error ? error : waiting ? wait_line : pmsg ? pmsg : "");
            size_t k;
            json_t *att;
            json_array_foreach(json_object_get(act, "attempts"), k, att)
            {
                const char *aerr = json_string_value(json_object_get(att, "error"));
                if (aerr)
                    printf("%-24s   attempt %d %s: %s\n", "",
                           (int)json_integer_value(json_object_get(att, "attempt")),
                           json_string_value(json_object_get(att, "status")), aerr);
            }
        }
    }
    json_decref(progress);
    json_decref(acts);
    weft_workflow_info_finish(&w);
    return EXIT_DONE;
}

/* "3.2s" ago, "5m" ago, "2h" ago, "3d" ago: an age at a glance. */
static void format_age(double s, char *out, size_t n)
{
    if (s < 120)
        snprintf(out, n, "%.1fs ago", s);
    else if (s < 7200)
        snprintf(out, n, "%.0fm ago", s / 60);
    else if (s < 172800)
        snprintf(out, n, "%.0fh ago", s / 3600);
    else
        snprintf(out, n, "%.0fd ago", s / 86400);
}

/* The strings of a JSON array joined with ","; "-" when empty (new string). */
static char *join_strings(const json_t *a)
{
    weft_strbuf b = {0};
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *s = json_string_value(v);
        weft_strbuf_add(&b, "%s%s", i ? "," : "", s ? s : "");
    }
    if (b.len == 0)
        weft_strbuf_add(&b, "-");
    return b.s;
}

static int cmd_workers(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_args(argc, argv, &a, OPT_JSON | WEFT_CLI_NO_ARG))
        return EXIT_ERROR;
    json_t *workers = weft_cli_read_listing(cfg, weft_store_workers);
    if (!workers)
        return EXIT_ERROR;
    if (a.json) {
        weft_cli_print_json(workers);
        json_decref(workers);
        return EXIT_DONE;
    }
    printf("%-36s %-20s %7s %-7s %-10s %5s  %-20s %-8s %s\n", "WORKER", "HOST", "PID", "STATE",
           "HEARTBEAT", "SLOTS", "QUEUES", "LIMITS", "TASKS");
    size_t i;
    json_t *w;
    json_array_foreach(workers, i, w)
    {
        char age[32];
        format_age(json_number_value(json_object_get(w, "heartbeat_age_s")), age, sizeof age);
        char *queues = join_strings(json_object_get(w, "queues"));
        char *tasks = join_strings(json_object_get(w, "tasks"));
        const json_t *limits = json_object_get(w, "limits");
        char *limits_text = json_object_size(limits) ? json_dumps(limits, JSON_COMPACT) : NULL;
        printf("%-36s %-20s %7d %-7s %-10s %5d  %-20s %-8s %s\n",
               json_string_value(json_object_get(w, "id")),
               json_string_value(json_object_get(w, "host")),
               (int)json_integer_value(json_object_get(w, "pid")),
               json_string_value(json_object_get(w, "state")), age,
               (int)json_integer_value(json_object_get(w, "concurrency")), queues,
               limits_text ? limits_text : "-", tasks);
        free(queues);
        free(tasks);
        free(limits_text);
    }
    if (json_array_size(workers) == 0)
        printf("(no worker has registered)\n");
    json_decref(workers);
    return EXIT_DONE;
}

static int cmd_run(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_args(argc, argv, &a, OPT_INPUTS | OPT_TASK_TIMEOUT | OPT_TASKS))
        return EXIT_ERROR;
    weft_runner_config runner = {.default_timeout_s = cfg->task_timeout_s,
                                 .max_line_bytes = cfg->limits.max_message_bytes};
    long task_timeout;
    if (a.task_timeout) {
        if (!weft_parse_int(a.task_timeout, 0, 86400, &task_timeout))
            return weft_cli_die("--task-timeout must be a whole number in 0..86400");
        runner.default_timeout_s = (int)task_timeout;
    }
    json_t *doc, *inputs;
    if (!load_workflow(&a, &cfg->limits, &doc, &inputs))
        return EXIT_ERROR;
    const char *tasks_file = a.tasks ? a.tasks : cfg->tasks_file;
    weft_taskfile *taskfile = NULL;
    weft_task_registry *tasks = NULL;
    weft_err err = {0};
    if (weft_worker_tasks(tasks_file, &taskfile, &tasks, &err)) {
        json_decref(doc);
        json_decref(inputs);
        return weft_cli_die("%s", err.msg);
    }
    /* the task process loads the same plugins (worker_tasks.h); no thread runs yet */
    if (tasks_file)
        setenv("WEFT_TASKS_FILE", tasks_file, 1);
    runner.taskfile = taskfile;
    weft_store *s = weft_cli_open_store(cfg);
    if (!s) {
        json_decref(doc);
        json_decref(inputs);
        weft_taskfile_destroy(taskfile);
        weft_task_registry_destroy(tasks);
        return EXIT_ERROR;
    }
    char uid[WEFT_UUID_LEN + 1];
    weft_status st =
        weft_direct_run(s, tasks, &runner, &cfg->limits, cfg->data_dir, doc, inputs, uid, &err);
    json_decref(doc);
    json_decref(inputs);
    int rc;
    if (st) {
        rc = weft_cli_die("%s", err.msg);
    } else {
        weft_workflow_info w;
        st = weft_store_workflow(s, uid, &w, &err);
        rc = st ? weft_cli_die("%s", err.msg) : weft_cli_report(&w);
        if (!st)
            weft_workflow_info_finish(&w);
    }
    weft_taskfile_destroy(taskfile);
    weft_task_registry_destroy(tasks);
    weft_store_destroy(s);
    return rc;
}

int main(int argc, char **argv)
{
    /* `weft run` starts its task process from this binary (runner.h) */
    if (weft_runner_is_task_process(argc, argv))
        return weft_worker_tasks_serve(argc, argv);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        printf("%s\n%s", usage, weft_config_help());
        return argc < 2 ? EXIT_ERROR : EXIT_DONE;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s\n%s", usage, weft_config_help());
            return EXIT_DONE;
        }
    }
    weft_config cfg;
    weft_err err = {0};
    if (weft_config_init(&cfg, &err))
        return weft_cli_die("%s", err.msg);
    /* the CLI speaks through stdout/stderr; library log lines only when asked for */
    weft_log_init("weft", getenv("WEFT_LOG_LEVEL") ? cfg.log_level : WEFT_LOG_WARN, cfg.log_format);
    static const struct {
        const char *name;
        int (*fn)(const weft_config *, int, char **);
    } cmds[] = {{"submit", cmd_submit},   {"status", cmd_status},
                {"wait", cmd_wait},       {"resume", cmd_resume},
                {"cancel", cmd_cancel},   {"define", cmd_define},
                {"definitions", cmd_definitions}, {"run", cmd_run},
                {"workers", cmd_workers}, {"list", weft_cli_list},
                {"watch", weft_cli_watch}, {"graph", weft_cli_graph},
                {"dead", weft_cli_dead}, {"limit", weft_cli_limit}};
    int rc = -1;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            rc = cmds[i].fn(&cfg, argc, argv);
    if (rc < 0)
        rc = weft_cli_die("unknown command '%s' (see weft --help)", argv[1]);
    weft_config_finish(&cfg);
    return rc;
}

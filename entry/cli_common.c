/* What the weft CLI's commands share (cli.h): option parsing, errors, the store, reports. */
#include "cli.h"

#include "alloc.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int weft_cli_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "weft: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return EXIT_ERROR;
}

static const struct option all_options[] = {
    {"inputs", required_argument, NULL, OPT_INPUTS},
    {"uid", required_argument, NULL, OPT_UID},
    {"wait", no_argument, NULL, OPT_WAIT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"task-timeout", required_argument, NULL, OPT_TASK_TIMEOUT},
    {"tasks", required_argument, NULL, OPT_TASKS},
    {"reason", required_argument, NULL, OPT_REASON},
    {"status", required_argument, NULL, OPT_STATUS},
    {"name", required_argument, NULL, OPT_NAME},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"id", required_argument, NULL, OPT_ID},
    {"allow-unknown-tasks", no_argument, NULL, OPT_ALLOW_UNKNOWN_TASKS},
    {"definition", required_argument, NULL, OPT_DEFINITION},
    {"version", required_argument, NULL, OPT_VERSION},
    {"rate", required_argument, NULL, OPT_RATE},
};
#define N_OPTIONS (sizeof all_options / sizeof all_options[0])

/* A number of seconds >= min for option `name`; false after printing the error. */
static bool parse_seconds(const char *name, const char *text, double min, double *out)
{
    char *end;
    *out = strtod(text, &end);
    if (!*text || *end || !(*out >= min) || *out > 1e9) {
        weft_cli_die("--%s needs a number of seconds >= %g", name, min);
        return false;
    }
    return true;
}

/* The options that take a text value: where each one's value goes. */
static const char **text_option(weft_cli_args *a, int c)
{
    switch (c) {
    case OPT_INPUTS:
        return &a->inputs;
    case OPT_UID:
        return &a->uid;
    case OPT_TASK_TIMEOUT:
        return &a->task_timeout;
    case OPT_TASKS:
        return &a->tasks;
    case OPT_REASON:
        return &a->reason;
    case OPT_STATUS:
        return &a->status;
    case OPT_NAME:
        return &a->name;
    case OPT_FORMAT:
        return &a->format;
    case OPT_ID:
        return &a->id;
    case OPT_DEFINITION:
        return &a->definition;
    case OPT_VERSION:
        return &a->version;
    case OPT_RATE:
        return &a->rate;
    default:
        return NULL;
    }
}

bool weft_cli_parse_args(int argc, char **argv, weft_cli_args *a, int allowed)
{
    memset(a, 0, sizeof *a);
    a->timeout_s = -1;
    a->interval_s = -1;
    a->limit = -1;
    struct option opts[N_OPTIONS + 1];
    size_t n = 0;
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (allowed & all_options[i].val)
            opts[n++] = all_options[i];
    opts[n] = (struct option){0};
    opterr = 0; /* the messages are ours */
    optind = 1; /* argv + 1: the command stands where getopt expects the program name */
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
        const char *opt = argv[1 + optind - 1];
        const char **text = text_option(a, c);
        if (text) {
            *text = optarg;
            continue;
        }
        switch (c) {
        case OPT_WAIT:
        case OPT_JSON:
        case OPT_ALLOW_UNKNOWN_TASKS:
            *(c == OPT_WAIT ? &a->wait : c == OPT_JSON ? &a->json : &a->allow_unknown_tasks) = true;
            break;
        case OPT_TIMEOUT:
            if (!parse_seconds("timeout", optarg, 0, &a->timeout_s))
                return false;
            break;
        case OPT_INTERVAL:
            if (!parse_seconds("interval", optarg, 0.05, &a->interval_s))
                return false;
            break;
        case OPT_LIMIT:
            if (!weft_parse_int(optarg, 1, WEFT_CLI_MAX_LIMIT, &a->limit)) {
                weft_cli_die("--limit needs a whole number in 1..%d", WEFT_CLI_MAX_LIMIT);
                return false;
            }
            break;
        case ':':
            weft_cli_die("option '%s' needs a value", opt);
            return false;
        default:
            if (optopt)
                weft_cli_die("unknown option '-%c' for '%s' (see weft --help)", optopt, argv[1]);
            else
                weft_cli_die("unknown option '%s' for '%s' (see weft --help)", opt, argv[1]);
            return false;
        }
    }
    int first = 1 + optind;
    bool none = allowed & WEFT_CLI_NO_ARG;
    int takes = none ? 0 : allowed & WEFT_CLI_TWO_ARGS ? 2 : 1;
    if (first < argc && takes > 0)
        a->positional = argv[first];
    if (first + 1 < argc && takes > 1)
        a->positional2 = argv[first + 1];
    if (first + takes < argc) {
        weft_cli_die("unexpected argument '%s' (see weft --help)", argv[first + takes]);
        return false;
    }
    if (a->definition && a->positional) {
        weft_cli_die("'%s': give a FILE or --definition NAME, not both", argv[1]);
        return false;
    }
    if (a->version && !a->definition) {
        weft_cli_die("--version goes with --definition NAME");
        return false;
    }
    if (!a->positional && !a->definition && !none) {
        weft_cli_die("'%s' needs an argument (see weft --help)", argv[1]);
        return false;
    }
    return true;
}

bool weft_cli_parse_uid_args(int argc, char **argv, weft_cli_args *a, int allowed)
{
    if (!weft_cli_parse_args(argc, argv, a, allowed))
        return false;
    if (!weft_uuid_valid(a->positional)) {
        weft_cli_die("'%s' is not a workflow uid", a->positional);
        return false;
    }
    return true;
}

char *weft_cli_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        weft_cli_die("cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = weft_xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = weft_xrealloc(buf, cap *= 2);
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        weft_cli_die("cannot read '%s'", path);
        return NULL;
    }
    *len = n;
    return buf;
}

weft_store *weft_cli_open_store(const weft_config *cfg)
{
    weft_err err = {0};
    weft_store *s;
    if (weft_store_connect(cfg->database_url, &s, &err)) {
        weft_cli_die("%s", err.msg);
        return NULL;
    }
    return s;
}

int weft_cli_report(const weft_workflow_info *w)
{
    if (w->status == WEFT_WORKFLOW_COMPLETED) {
        char *s = json_dumps(w->output, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        printf("%s\n", s ? s : "null");
        free(s);
        return EXIT_DONE;
    }
    if (w->status == WEFT_WORKFLOW_CANCELED && w->error && !strncmp(w->error, "canceled: ", 10))
        fprintf(stderr, "weft: workflow %s %s\n", w->uid, w->error); /* "canceled: REASON" */
    else
        fprintf(stderr, "weft: workflow %s %s: %s\n", w->uid, weft_workflow_status_name(w->status),
                w->error ? w->error : "no error recorded");
    return EXIT_WORKFLOW_FAILED;
}

void weft_cli_print_cut(const char *text, size_t width)
{
    size_t chars = 0;
    for (const char *p = text; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    size_t keep = chars <= width ? chars : width > 3 ? width - 3 : 0;
    size_t seen = 0;
    for (const char *p = text; *p; p++) {
        bool starts = ((unsigned char)*p & 0xC0) != 0x80;
        if (starts && seen++ == keep)
            break;
        putchar(*p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p);
    }
    if (keep < chars)
        fputs("...", stdout);
}

void weft_cli_print_json(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
}

json_t *weft_cli_read_listing(const weft_config *cfg,
                              weft_status (*fetch)(weft_store *, json_t **, weft_err *))
{
    weft_store *s = weft_cli_open_store(cfg);
    if (!s)
        return NULL;
    json_t *list = NULL;
    weft_err err = {0};
    weft_status st = fetch(s, &list, &err);
    weft_store_destroy(s);
    if (st) {
        weft_cli_die("%s", err.msg);
        return NULL;
    }
    return list;
}

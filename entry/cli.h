/* The weft CLI's shared pieces, private to entry/: exit codes, the options and their
 * parsing, errors, the store connection and a finished workflow's report. Every command
 * (cli.c: submit/status/wait/resume/cancel/define/definitions/workers/run; cli_list.c, cli_watch.c, cli_graph.c,
 * cli_dead.c, cli_limit.c) is `int weft_cli_NAME(cfg, argc, argv)` returning an exit code, argv[1] the
 * command. Errors are one line on stderr, "weft: ...". */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include "config.h"
#include "store.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>

/* Exit codes, shared by every command. */
enum { EXIT_DONE = 0, EXIT_WORKFLOW_FAILED = 1, EXIT_TIMEOUT = 2, EXIT_ERROR = 3 };

/* How long `wait` and `watch` treat an unknown uid as "not created yet" (the entry
 * consumer normally creates a submitted workflow within milliseconds). */
#define WEFT_CLI_UNKNOWN_GRACE_S 15.0

/* The most rows --limit asks for (list, dead list). */
#define WEFT_CLI_MAX_LIMIT 10000

typedef struct {
    const char *positional; /* borrowed from argv; NULL when the command takes none */
    const char *positional2; /* the second one, with WEFT_CLI_TWO_ARGS; NULL when not given */
    const char *inputs;
    const char *uid;
    const char *task_timeout;
    const char *tasks;
    const char *reason;
    const char *status;
    const char *name;
    const char *format;
    const char *id;
    const char *definition; /* --definition NAME: submit a stored definition */
    const char *version;
    const char *rate; /* --rate COUNT/UNIT (limit set) */
    bool wait;
    bool json;
    bool allow_unknown_tasks;
    double timeout_s;  /* < 0: none */
    double interval_s; /* < 0: none given */
    long limit;        /* < 0: none given */
} weft_cli_args;

/* The options of the commands; each command allows some of them (a mask of their flags).
 * WEFT_CLI_NO_ARG is no option: the command takes no positional argument; nor is
 * WEFT_CLI_TWO_ARGS: it takes an optional second one. */
enum {
    OPT_INPUTS = 1,
    OPT_UID = 2,
    OPT_WAIT = 4,
    OPT_TIMEOUT = 8,
    OPT_JSON = 16,
    OPT_TASK_TIMEOUT = 32,
    OPT_TASKS = 64,
    OPT_REASON = 128,
    OPT_STATUS = 256,
    OPT_NAME = 512,
    OPT_LIMIT = 1024,
    OPT_INTERVAL = 2048,
    OPT_FORMAT = 4096,
    OPT_ID = 8192,
    OPT_ALLOW_UNKNOWN_TASKS = 1 << 14,
    OPT_DEFINITION = 1 << 15,
    OPT_VERSION = 1 << 16,
    OPT_RATE = 1 << 17,
    WEFT_CLI_TWO_ARGS = 1 << 29,
    WEFT_CLI_NO_ARG = 1 << 30
};

/* Prints "weft: MESSAGE" on stderr; returns EXIT_ERROR. */
int weft_cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses the arguments after the command (argv[1]) into *a: the options in allowed,
 * anywhere, and one positional argument (none with WEFT_CLI_NO_ARG). Prints the error and
 * returns false on bad usage. */
bool weft_cli_parse_args(int argc, char **argv, weft_cli_args *a, int allowed);

/* weft_cli_parse_args for the commands whose argument is a workflow uid. */
bool weft_cli_parse_uid_args(int argc, char **argv, weft_cli_args *a, int allowed);

/* The whole file at path (borrowed) as a new buffer (caller frees), *len its size; NULL
 * after printing the error. */
char *weft_cli_read_file(const char *path, size_t *len);

/* A new store connection (free with weft_store_destroy), or NULL after printing the error. */
weft_store *weft_cli_open_store(const weft_config *cfg);

/* One listing read from the store by fetch (weft_store_definitions, weft_store_workers,
 * weft_store_limits): a new array, or NULL after printing the error. */
json_t *weft_cli_read_listing(const weft_config *cfg,
                              weft_status (*fetch)(weft_store *, json_t **, weft_err *));

/* Prints a finished workflow's result (w borrowed): the output JSON alone on stdout and
 * EXIT_DONE, or the error on stderr and EXIT_WORKFLOW_FAILED. */
int weft_cli_report(const weft_workflow_info *w);

/* Prints doc (borrowed) on stdout as indented JSON, for --json. */
void weft_cli_print_json(const json_t *doc);

/* Prints text (borrowed) on stdout on one line within width characters (UTF-8 code points;
 * a cut one ends in "..."), its line breaks and tabs as spaces. */
void weft_cli_print_cut(const char *text, size_t width);

/* The commands outside cli.c. */
int weft_cli_list(const weft_config *cfg, int argc, char **argv);
int weft_cli_watch(const weft_config *cfg, int argc, char **argv);
int weft_cli_graph(const weft_config *cfg, int argc, char **argv);
int weft_cli_dead(const weft_config *cfg, int argc, char **argv);
int weft_cli_limit(const weft_config *cfg, int argc, char **argv);

#endif

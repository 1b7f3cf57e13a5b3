/* The worker's task file (DESIGN §9): the task types a worker serves beyond the built-in
 * ones, each an exec command that speaks JSON Lines (exec_task.h), a web endpoint that
 * answers a POST (http_task.h) or a C plugin (activity/plugin.h) that registers it.
 *
 *   {"queues": ["default", "gpu"],
 *    "tasks": {"resize": {"exec": ["python3", "tasks/images.py"], "timeout_s": 60,
 *                         "mode": "persistent", "env": {"MODEL": "small"}},
 *              "notify": {"http": "http://127.0.0.1:9000/notify", "timeout_s": 10,
 *                         "secret_file": "secret.txt"},
 *              "checksum": {"plugin": "plugins/checksum.so"}}}
 *
 * `queues` names the routing queues (queues.h) the worker consumes, ["default"] when absent.
 *
 * It is loaded once, at start, and is then read-only, shared by every worker thread. Loading
 * validates all of it, so a worker with a bad file never starts: an unknown field, a wrong
 * type, a name that is taken by a built-in task, and (when asked) a program that cannot be
 * found or run are errors naming the task and the field. A program path with a slash is
 * taken relative to the task file's folder, one without is searched in PATH; either way it
 * is resolved to an absolute path at load, so a later change of folder or PATH cannot make
 * a worker run another program than the one it checked. An http task's URL must parse
 * (curl_url) as http:// or https://; its secret_file (relative to the folder) is read at
 * load, so a secret that cannot be read stops the worker at start, not its first attempt.
 *
 * Tasks whose exec, mode and env are the same share a command: a persistent worker slot runs
 * one process per command, whichever of those tasks an attempt names. */
#ifndef WEFT_TASKFILE_H
#define WEFT_TASKFILE_H

#include "status.h"
#include "task.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    WEFT_EXEC_PERSISTENT, /* one long-lived process per worker slot and command */
    WEFT_EXEC_ONESHOT,    /* one process per attempt */
} weft_exec_mode;

typedef struct {
    char *name;    /* the task type */
    char **argv;   /* NULL-terminated, as written: argv[0] is what the process sees */
    char *program; /* the resolved absolute path of argv[0]; NULL when not checked */
    weft_exec_mode mode;
    int timeout_s;  /* 0: not set (the activity's timeout_s or the worker's default) */
    int limit;      /* 0: none; else at most this many attempts of it at once in a worker */
    char **env;     /* NULL-terminated "NAME=value" from the file's env */
    size_t command; /* index of its command, 0..ncommands-1 */
} weft_taskfile_task;

/* A task a plugin registers: only its name and the shared object's path. */
typedef struct {
    char *name;
    char *path; /* absolute (a relative one taken from the task file's folder) */
} weft_taskfile_plugin;

/* A task served by a web endpoint (http_task.h): one POST per attempt. */
typedef struct {
    char *name;
    char *url;     /* as written; http:// or https:// */
    int timeout_s; /* 0: not set, as an exec task's */
    int limit;     /* 0: none, as an exec task's */
    char *secret;  /* the secret_file's bytes, one trailing newline stripped; NULL: none (or
                      not read: a names-only load) */
    size_t secret_len;
} weft_taskfile_http;

typedef struct {
    char *dir; /* the task file's folder, absolute: the working folder of its processes */
    weft_taskfile_task *tasks; /* the exec tasks */
    size_t n;
    size_t ncommands;
    weft_taskfile_plugin *plugins; /* the plugin tasks */
    size_t nplugins;
    weft_taskfile_http *http; /* the http tasks */
    size_t nhttp;
    char **queues; /* the routing queues to consume, at least one, no repeats */
    size_t nqueues;
} weft_taskfile;

/* Reads and validates the task file at path (borrowed). check_programs: resolve each
 * program and require it to be an executable file, each plugin a readable one, and read each
 * secret_file (a worker does; weft-entry, which only needs the names, does not). On WEFT_OK *out is
 * new (free with weft_taskfile_destroy); otherwise err says which task and field, prefixed with the
 * file's path.
 */
weft_status weft_taskfile_load(const char *path, bool check_programs, weft_taskfile **out,
                               weft_err *err);

/* weft_taskfile_load over a parsed document (borrowed) whose relative paths resolve against
 * dir (borrowed, absolute). */
weft_status weft_taskfile_parse(const json_t *doc, const char *dir, bool check_programs,
                                weft_taskfile **out, weft_err *err);

/* Frees tf; accepts NULL. */
void weft_taskfile_destroy(weft_taskfile *tf);

/* The exec task named name (borrowed from tf), or NULL. tf may be NULL. */
const weft_taskfile_task *weft_taskfile_find(const weft_taskfile *tf, const char *name);

/* The http task named name (borrowed from tf), or NULL. tf may be NULL. */
const weft_taskfile_http *weft_taskfile_find_http(const weft_taskfile *tf, const char *name);

/* Declares every task of tf in r (both borrowed) so definitions may name them; WEFT_EINVAL
 * when an exec or http task is already known there (a built-in task of the same name). A plugin
 * task already registered (its plugin was loaded into r) is left as it is. */
weft_status weft_taskfile_declare(const weft_taskfile *tf, weft_task_registry *r, weft_err *err);

#endif

#include "taskfile.h"

#include "alloc.h"
#include "config.h"
#include "definition.h"
#include "queues.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* PATH when the worker's environment has none, as the shells' default. */
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define MAX_TIMEOUT_S 86400
/* A secret is a key, not a document: a larger file is a wrong path. */
#define MAX_SECRET_BYTES (64 * 1024)

static const char *const task_fields[] = {"exec",  "mode", "timeout_s", "env",
                                          "limit", "http", "plugin"};

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void weft_taskfile_destroy(weft_taskfile *tf)
{
    if (!tf)
        return;
    for (size_t i = 0; i < tf->n; i++) {
        weft_taskfile_task *t = &tf->tasks[i];
        free(t->name);
        free_strv(t->argv);
        free(t->program);
        free_strv(t->env);
    }
    free(tf->tasks);
    for (size_t i = 0; i < tf->nplugins; i++) {
        free(tf->plugins[i].name);
        free(tf->plugins[i].path);
    }
    free(tf->plugins);
    for (size_t i = 0; i < tf->nhttp; i++) {
        free(tf->http[i].name);
        free(tf->http[i].url);
        if (tf->http[i].secret)
            explicit_bzero(tf->http[i].secret, tf->http[i].secret_len);
        free(tf->http[i].secret);
    }
    free(tf->http);
    for (size_t i = 0; i < tf->nqueues; i++)
        free(tf->queues[i]);
    free(tf->queues);
    free(tf->dir);
    free(tf);
}

const weft_taskfile_task *weft_taskfile_find(const weft_taskfile *tf, const char *name)
{
    for (size_t i = 0; tf && i < tf->n; i++)
        if (strcmp(tf->tasks[i].name, name) == 0)
            return &tf->tasks[i];
    return NULL;
}

const weft_taskfile_http *weft_taskfile_find_http(const weft_taskfile *tf, const char *name)
{
    for (size_t i = 0; tf && i < tf->nhttp; i++)
        if (strcmp(tf->http[i].name, name) == 0)
            return &tf->http[i];
    return NULL;
}

static bool env_name_valid(const char *s)
{
    if (!*s || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}

/* An executable regular file at path? Writes why not into why. */
static bool executable(const char *path, char *why, size_t n)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(why, n, "%s", strerror(errno));
        return false;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(why, n, "not a regular file");
        return false;
    }
    if (access(path, X_OK) != 0) {
        snprintf(why, n, "not executable (%s)", strerror(errno));
        return false;
    }
    return true;
}

/* The absolute path argv0 names: against dir when it holds a slash, else the first
 * executable of that name in PATH. NULL (and err set) when there is none. */
static char *resolve_program(const char *name, const char *argv0, const char *dir, weft_err *err)
{
    char why[160] = "";
    if (strchr(argv0, '/')) {
        const char *rel = strncmp(argv0, "./", 2) == 0 ? argv0 + 2 : argv0;
        char *path = argv0[0] == '/' ? weft_xstrdup(argv0) : weft_xasprintf("%s/%s", dir, rel);
        if (executable(path, why, sizeof why))
            return path;
        weft_err_set(err, WEFT_EINVAL, "task '%s': exec: program '%s' cannot be run: %s", name,
                     path, why);
        free(path);
        return NULL;
    }
    const char *env = getenv("PATH");
    char *search = weft_xstrdup(env && *env ? env : DEFAULT_PATH), *save = NULL;
    for (char *d = strtok_r(search, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *path = weft_xasprintf("%s/%s", *d ? d : ".", argv0);
        if (path[0] == '/' && executable(path, why, sizeof why)) {
            free(search);
            return path;
        }
        free(path);
    }
    free(search);
    weft_err_set(err, WEFT_EINVAL, "task '%s': exec: program '%s' not found in PATH", name, argv0);
    return NULL;
}

static weft_status parse_exec(const json_t *v, weft_taskfile_task *t, weft_err *err)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return weft_err_set(err, WEFT_EINVAL,
                            "task '%s': exec: must be a non-empty array of strings (the program"
                            " and its arguments)",
                            t->name);
    size_t n = json_array_size(v);
    t->argv = weft_xcalloc(n + 1, sizeof *t->argv);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_array_get(v, i);
        if (!json_is_string(a) || (i == 0 && json_string_length(a) == 0) ||
            strlen(json_string_value(a)) != json_string_length(a))
            return weft_err_set(err, WEFT_EINVAL,
                                "task '%s': exec[%zu]: must be a string%s without NUL", t->name, i,
                                i == 0 ? ", not empty," : "");
        t->argv[i] = weft_xstrdup(json_string_value(a));
    }
    return WEFT_OK;
}

static weft_status parse_env(const json_t *v, weft_taskfile_task *t, weft_err *err)
{
    if (!json_is_object(v))
        return weft_err_set(err, WEFT_EINVAL, "task '%s': env: must be an object of strings",
                            t->name);
    t->env = weft_xcalloc(json_object_size(v) + 1, sizeof *t->env);
    size_t i = 0;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        if (!env_name_valid(key))
            return weft_err_set(
                err, WEFT_EINVAL,
                "task '%s': env: '%s' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", t->name,
                key);
        /* weft's own variables carry its connection URLs and secrets: never a task's */
        if (strncmp(key, "WEFT_", 5) == 0)
            return weft_err_set(err, WEFT_EINVAL,
                                "task '%s': env: '%s': WEFT_ variables are weft's own and are not"
                                " passed to tasks",
                                t->name, key);
        if (!json_is_string(val) || strlen(json_string_value(val)) != json_string_length(val))
            return weft_err_set(err, WEFT_EINVAL,
                                "task '%s': env: '%s' must be a string without NUL", t->name, key);
        t->env[i++] = weft_xasprintf("%s=%s", key, json_string_value(val));
    }
    return WEFT_OK;
}

/* Field `field` of task v, when it has it, into *out: a whole number in 1..max (absent:
 * *out unchanged). */
static weft_status parse_count(const char *name, const json_t *v, const char *field, int max,
                               int *out, weft_err *err)
{
    const json_t *n = json_object_get(v, field);
    if (!n)
        return WEFT_OK;
    if (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > max)
        return weft_err_set(err, WEFT_EINVAL, "task '%s': %s: must be a whole number in 1..%d",
                            name, field, max);
    *out = (int)json_integer_value(n);
    return WEFT_OK;
}

/* timeout_s, when v has it, into *out. */
static weft_status parse_timeout(const char *name, const json_t *v, int *out, weft_err *err)
{
    return parse_count(name, v, "timeout_s", MAX_TIMEOUT_S, out, err);
}

/* The limit of a task (DESIGN §10): at most this many of its attempts at once in one worker;
 * absent: none (0). */
#define MAX_LIMIT 10000

static weft_status parse_limit(const char *name, const json_t *v, int *out, weft_err *err)
{
    *out = 0;
    return parse_count(name, v, "limit", MAX_LIMIT, out, err);
}

static weft_status parse_task(const char *name, const json_t *v, const char *dir,
                              bool check_programs, weft_taskfile_task *t, weft_err *err)
{
    t->name = weft_xstrdup(name);
    if (!json_is_object(v))
        return weft_err_set(err, WEFT_EINVAL, "task '%s': must be an object", name);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof task_fields / sizeof task_fields[0]; i++)
            known = known || strcmp(key, task_fields[i]) == 0;
        if (!known)
            return weft_err_set(err, WEFT_EINVAL,
                                "task '%s': unknown field '%s' (known: exec, mode, timeout_s, env,"
                                " limit; or http, timeout_s, secret_file, limit; or plugin alone)",
                                name, key);
    }
    weft_status st = parse_limit(name, v, &t->limit, err);
    if (st)
        return st;
    const json_t *exec = json_object_get(v, "exec");
    if (!exec)
        return weft_err_set(err, WEFT_EINVAL, "task '%s': exec: missing (the program to run)",
                            name);
    st = parse_exec(exec, t, err);
    if (st)
        return st;
    const json_t *mode = json_object_get(v, "mode");
    t->mode = WEFT_EXEC_PERSISTENT;
    if (mode) {
        const char *m = json_string_value(mode);
        if (m && strcmp(m, "oneshot") == 0)
            t->mode = WEFT_EXEC_ONESHOT;
        else if (!m || strcmp(m, "persistent") != 0)
            return weft_err_set(err, WEFT_EINVAL,
                                "task '%s': mode: must be \"persistent\" or \"oneshot\"", name);
    }
    st = parse_timeout(name, v, &t->timeout_s, err);
    if (st)
        return st;
    const json_t *env = json_object_get(v, "env");
    st = env ? parse_env(env, t, err) : WEFT_OK;
    if (!env)
        t->env = weft_xcalloc(1, sizeof *t->env);
    if (!st && check_programs && !(t->program = resolve_program(name, t->argv[0], dir, err)))
        st = WEFT_EINVAL;
    return st;
}

/* A task served by a plugin: {"plugin": PATH} and nothing else. */
static weft_status parse_plugin(const char *name, const json_t *v, const char *dir,
                                bool check_programs, weft_taskfile_plugin *p, weft_err *err)
{
    p->name = weft_xstrdup(name);
    if (json_object_size(v) != 1)
        return weft_err_set(err, WEFT_EINVAL,
                            "task '%s': a plugin task takes \"plugin\" alone (the plugin sets"
                            " everything else)",
                            name);
    const char *path = json_string_value(json_object_get(v, "plugin"));
    if (!path || !*path)
        return weft_err_set(err, WEFT_EINVAL,
                            "task '%s': plugin: must be the path of a shared object", name);
    p->path = path[0] == '/' ? weft_xstrdup(path) : weft_xasprintf("%s/%s", dir, path);
    if (check_programs && access(p->path, R_OK) != 0)
        return weft_err_set(err, WEFT_EINVAL, "task '%s': plugin: '%s' cannot be read: %s", name,
                            p->path, strerror(errno));
    return WEFT_OK;
}

/* The URL of an http task: it must parse, as libcurl will parse it for every attempt, and
 * name http or https (no other scheme may be reached from a worker). */
static weft_status parse_http_url(const char *name, const json_t *v, weft_taskfile_http *h,
                                  weft_err *err)
{
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return weft_err_set(err, WEFT_EINVAL,
                            "task '%s': http: must be the endpoint's URL, a string without NUL",
                            name);
    const char *url = json_string_value(v);
    char *shown = weft_redact_url(url), *scheme = NULL;
    CURLU *u = curl_url();
    CURLUcode uc = u ? curl_url_set(u, CURLUPART_URL, url, 0) : CURLUE_OUT_OF_MEMORY;
    if (!uc)
        uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    bool web = !uc && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    weft_status st = WEFT_OK;
    if (uc)
        st = weft_err_set(err, WEFT_EINVAL, "task '%s': http: '%s' is not a URL (%s)", name, shown,
                          curl_url_strerror(uc));
    else if (!web)
        st = weft_err_set(err, WEFT_EINVAL,
                          "task '%s': http: '%s' must be an http:// or https:// URL", name, shown);
    else
        h->url = weft_xstrdup(url);
    curl_free(scheme);
    curl_url_cleanup(u);
    free(shown);
    return st;
}

/* Reads the secret at path (borrowed) into h, one trailing newline stripped (the one an
 * editor or `echo` adds is never part of the key). */
static weft_status read_secret(const char *name, const char *path, weft_taskfile_http *h,
                               weft_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return weft_err_set(err, WEFT_EINVAL, "task '%s': secret_file: '%s' cannot be read: %s",
                            name, path, strerror(errno));
    char *buf = weft_xmalloc(MAX_SECRET_BYTES + 1);
    size_t len = 0;
    int read_errno = 0;
    while (len <= MAX_SECRET_BYTES) {
        ssize_t got = read(fd, buf + len, MAX_SECRET_BYTES + 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            read_errno = got < 0 ? errno : 0;
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    weft_status st = WEFT_OK;
    if (read_errno)
        st = weft_err_set(err, WEFT_EINVAL, "task '%s': secret_file: '%s' cannot be read: %s", name,
                          path, strerror(read_errno));
    else if (len > MAX_SECRET_BYTES)
        st = weft_err_set(err, WEFT_EINVAL, "task '%s': secret_file: '%s' is larger than %d bytes",
                          name, path, MAX_SECRET_BYTES);
    else if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (!st && len == 0)
        st = weft_err_set(err, WEFT_EINVAL, "task '%s': secret_file: '%s' is empty", name, path);
    if (st) {
        explicit_bzero(buf, MAX_SECRET_BYTES + 1);
        free(buf);
        return st;
    }
    h->secret = buf;
    h->secret_len = len;
    return WEFT_OK;
}

/* A task served by a web endpoint: {"http": URL, "timeout_s"?, "secret_file"?}. */
static weft_status parse_http(const char *name, const json_t *v, const char *dir,
                              bool check_programs, weft_taskfile_http *h, weft_err *err)
{
    h->name = weft_xstrdup(name);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        if (strcmp(key, "exec") == 0 || strcmp(key, "mode") == 0 || strcmp(key, "env") == 0)
            return weft_err_set(err, WEFT_EINVAL,
                                "task '%s': %s: not allowed with http (an http task runs no"
                                " program)",
                                name, key);
        if (strcmp(key, "http") != 0 && strcmp(key, "timeout_s") != 0 &&
            strcmp(key, "secret_file") != 0 && strcmp(key, "limit") != 0)
            return weft_err_set(err, WEFT_EINVAL,
                                "task '%s': unknown field '%s' (known for an http task: http,"
                                " timeout_s, secret_file, limit)",
                                name, key);
    }
    weft_status st = parse_limit(name, v, &h->limit, err);
    if (!st)
        st = parse_http_url(name, json_object_get(v, "http"), h, err);
    if (!st)
        st = parse_timeout(name, v, &h->timeout_s, err);
    const json_t *secret = json_object_get(v, "secret_file");
    if (st || !secret)
        return st;
    const char *file = json_string_value(secret);
    if (!file || !*file || strlen(file) != json_string_length(secret))
        return weft_err_set(err, WEFT_EINVAL,
                            "task '%s': secret_file: must be a path (relative to the task file's"
                            " folder)",
                            name);
    if (!check_programs)
        return WEFT_OK;
    char *path = file[0] == '/' ? weft_xstrdup(file) : weft_xasprintf("%s/%s", dir, file);
    st = read_secret(name, path, h, err);
    free(path);
    return st;
}

static bool strv_equal(char **a, char **b)
{
    for (; *a && *b; a++, b++)
        if (strcmp(*a, *b) != 0)
            return false;
    return !*a && !*b;
}

/* Numbers the distinct commands: tasks with the same exec, mode and env share one. */
static void number_commands(weft_taskfile *tf)
{
    tf->ncommands = 0;
    for (size_t i = 0; i < tf->n; i++) {
        weft_taskfile_task *t = &tf->tasks[i];
        t->command = tf->ncommands;
        for (size_t j = 0; j < i; j++) {
            const weft_taskfile_task *o = &tf->tasks[j];
            if (o->mode == t->mode && strv_equal(o->argv, t->argv) && strv_equal(o->env, t->env)) {
                t->command = o->command;
                break;
            }
        }
        if (t->command == tf->ncommands)
            tf->ncommands++;
    }
}

/* The routing queues the worker consumes (queues.h): ["default"] when absent. */
static weft_status parse_queues(const json_t *v, weft_taskfile *tf, weft_err *err)
{
    if (!v) {
        tf->queues = weft_xcalloc(1, sizeof *tf->queues);
        tf->queues[tf->nqueues++] = weft_xstrdup(WEFT_QUEUE_DEFAULT);
        return WEFT_OK;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return weft_err_set(err, WEFT_EINVAL,
                            "queues: must be a non-empty array of queue names (default: "
                            "[\"default\"])");
    tf->queues = weft_xcalloc(json_array_size(v), sizeof *tf->queues);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *q = json_array_get(v, i);
        const char *name = json_string_value(q);
        if (!name || strlen(name) != json_string_length(q) || !weft_name_valid(name))
            return weft_err_set(err, WEFT_EINVAL,
                                "queues[%zu]: must be a queue name matching [A-Za-z0-9_.-]{1,64}",
                                i);
        for (size_t j = 0; j < tf->nqueues; j++)
            if (strcmp(tf->queues[j], name) == 0)
                return weft_err_set(err, WEFT_EINVAL, "queues[%zu]: '%s' is listed twice", i, name);
        tf->queues[tf->nqueues++] = weft_xstrdup(name);
    }
    return WEFT_OK;
}

weft_status weft_taskfile_parse(const json_t *doc, const char *dir, bool check_programs,
                                weft_taskfile **out, weft_err *err)
{
    *out = NULL;
    if (!json_is_object(doc))
        return weft_err_set(err, WEFT_EINVAL, "must be a JSON object with \"tasks\"");
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)doc, key, val)
    {
        if (strcmp(key, "tasks") != 0 && strcmp(key, "queues") != 0)
            return weft_err_set(err, WEFT_EINVAL, "unknown field '%s' (known: queues, tasks)", key);
    }
    const json_t *tasks = json_object_get(doc, "tasks");
    if (!json_is_object(tasks))
        return weft_err_set(err, WEFT_EINVAL, "tasks: %s",
                            tasks ? "must be an object of task types" : "missing");
    weft_taskfile *tf = weft_xcalloc(1, sizeof *tf);
    tf->dir = weft_xstrdup(dir);
    weft_status qst = parse_queues(json_object_get(doc, "queues"), tf, err);
    if (qst) {
        weft_taskfile_destroy(tf);
        return qst;
    }
    tf->tasks = weft_xcalloc(json_object_size(tasks) + 1, sizeof *tf->tasks);
    tf->plugins = weft_xcalloc(json_object_size(tasks) + 1, sizeof *tf->plugins);
    tf->http = weft_xcalloc(json_object_size(tasks) + 1, sizeof *tf->http);
    weft_status st = WEFT_OK;
    json_object_foreach((json_t *)tasks, key, val)
    {
        if (!weft_name_valid(key)) {
            st = weft_err_set(err, WEFT_EINVAL,
                              "task '%s': the name must match [A-Za-z0-9_.-]{1,64}", key);
            break;
        }
        if (json_is_object(val) && json_object_get(val, "plugin"))
            st = parse_plugin(key, val, dir, check_programs, &tf->plugins[tf->nplugins++], err);
        else if (json_is_object(val) && json_object_get(val, "http"))
            st = parse_http(key, val, dir, check_programs, &tf->http[tf->nhttp++], err);
        else
            st = parse_task(key, val, dir, check_programs, &tf->tasks[tf->n++], err);
        if (st)
            break;
    }
    if (st) {
        weft_taskfile_destroy(tf);
        return st;
    }
    number_commands(tf);
    *out = tf;
    return WEFT_OK;
}

weft_status weft_taskfile_load(const char *path, bool check_programs, weft_taskfile **out,
                               weft_err *err)
{
    *out = NULL;
    char *abs = realpath(path, NULL);
    if (!abs)
        return weft_err_set(err, WEFT_EINVAL, "task file '%s': %s", path, strerror(errno));
    json_error_t je;
    json_t *doc = json_load_file(abs, JSON_REJECT_DUPLICATES, &je);
    weft_status st;
    if (!doc) {
        st = weft_err_set(err, WEFT_EINVAL, "task file '%s': line %d, column %d: %s", path, je.line,
                          je.column, je.text);
    } else {
        char *slash = strrchr(abs, '/');
        *slash = '\0';
        st = weft_taskfile_parse(doc, slash == abs ? "/" : abs, check_programs, out, err);
        if (st)
            weft_err_prefix(err, "task file '%s': ", path);
    }
    json_decref(doc);
    free(abs);
    return st;
}

weft_status weft_taskfile_declare(const weft_taskfile *tf, weft_task_registry *r, weft_err *err)
{
    for (size_t i = 0; tf && i < tf->n; i++)
        if (!weft_task_declare(r, tf->tasks[i].name))
            return weft_err_set(err, WEFT_EINVAL,
                                "task file: task '%s': a built-in task has this name",
                                tf->tasks[i].name);
    for (size_t i = 0; tf && i < tf->nhttp; i++)
        if (!weft_task_declare(r, tf->http[i].name))
            return weft_err_set(err, WEFT_EINVAL,
                                "task file: task '%s': a built-in task has this name",
                                tf->http[i].name);
    for (size_t i = 0; tf && i < tf->nplugins; i++)
        if (!weft_task_known(r, tf->plugins[i].name) && !weft_task_declare(r, tf->plugins[i].name))
            return weft_err_set(err, WEFT_EINVAL, "task file: task '%s': cannot be declared",
                                tf->plugins[i].name);
    return WEFT_OK;
}

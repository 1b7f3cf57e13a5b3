/* file.load, and the data-dir confinement every file task goes through. */
#include "task_impl.h"

#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_LOAD_DEFAULT_MAX_BYTES (16 * 1024 * 1024)

/* True when real (a realpath) is root itself or below it. */
static bool is_inside(const char *root, const char *real)
{
    size_t n = strlen(root);
    if (n == 1) /* root is "/" */
        return true;
    return strncmp(real, root, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

/* A relative path whose ".." components climb above its start escapes whatever the file
 * system holds: reject it by its text before looking anything up, so the error says what
 * is wrong even when the target does not exist. */
static bool climbs_out(const char *path)
{
    int depth = 0;
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            depth--;
        else if (n > 0 && !(n == 1 && p[0] == '.'))
            depth++;
        if (depth < 0)
            return true;
        p += n;
        while (*p == '/')
            p++;
    }
    return false;
}

weft_task_result weft_task_errno_result(int e)
{
    return e == ENOENT || e == ENOTDIR || e == EACCES || e == ELOOP || e == ENAMETOOLONG
               ? WEFT_TASK_PERMANENT
               : WEFT_TASK_TRANSIENT;
}

static bool inside_root(const char *root, const char *dir)
{
    char *real = realpath(dir, NULL);
    bool inside = real && is_inside(root, real);
    free(real);
    return inside;
}

/* Creates the missing folders of dir (absolute, under root, the data dir's real path) one at
 * a time, each checked to be inside root before the next is made in it, so that a symlink in
 * the data dir cannot lead the creation elsewhere. Best effort: the caller's realpath says. */
static void make_folders(const char *root, const char *dir)
{
    char *d = weft_xstrdup(dir);
    size_t n = strlen(d);
    for (size_t i = strlen(root) + 1; i <= n; i++) {
        if (d[i] != '/' && d[i] != '\0')
            continue;
        char c = d[i];
        d[i] = '\0';
        if (!inside_root(root, d) && (mkdir(d, 0777) != 0 || !inside_root(root, d)))
            break;
        d[i] = c;
    }
    free(d);
}

weft_task_result weft_task_data_path(const weft_task_ctx *ctx, const char *task, const char *path,
                                     bool must_exist, char **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (!ctx->data_dir || !*ctx->data_dir)
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT, "%s: WEFT_DATA_DIR is not set",
                               task);
    /* A data dir that is missing is the host's problem, perhaps a mount not there yet. */
    char *root = realpath(ctx->data_dir, NULL);
    if (!root)
        return weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                               "%s: data dir '%s' is not usable: %s", task, ctx->data_dir,
                               strerror(errno));

    if (path[0] != '/' && climbs_out(path)) {
        free(root);
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "%s: path '%s' escapes the data dir", task, path);
    }
    char *joined =
        path[0] == '/' ? weft_xstrdup(path) : weft_xasprintf("%s/%s", ctx->data_dir, path);
    const char *dir = joined;
    char *name = NULL;
    if (!must_exist) {
        char *slash = strrchr(joined, '/');
        *slash = '\0';
        name = slash + 1;
        if (dir[0] == '\0')
            dir = "/";
    }

    weft_task_result result = WEFT_TASK_OK;
    char *real = realpath(dir, NULL);
    if (!real && errno == ENOENT && !must_exist && path[0] != '/') {
        /* a file to write in folders not made yet: made here, inside the data dir */
        char *in_root = weft_xasprintf("%s/%s", root, path);
        *strrchr(in_root, '/') = '\0';
        make_folders(root, in_root);
        free(in_root);
        real = realpath(dir, NULL);
    }
    if (!real) {
        int e = errno;
        result = weft_task_error(errbuf, errlen, weft_task_errno_result(e), "%s: path '%s': %s",
                                 task, path, e == ENOENT ? "no such file" : strerror(e));
    } else if (!is_inside(root, real)) {
        result = weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                                 "%s: path '%s' escapes the data dir", task, path);
    } else if (!must_exist) {
        if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            result = weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                                     "%s: path '%s' does not name a file", task, path);
        else
            *out = weft_xasprintf("%s%s%s", real, strcmp(real, "/") == 0 ? "" : "/", name);
    } else {
        *out = weft_xstrdup(real);
    }
    free(real);
    free(joined);
    free(root);
    return result;
}

weft_task_result weft_task_open_input(const char *task, const char *abs, const char *path,
                                      long long max, const char *max_what, int *fd, long long *size,
                                      char *errbuf, size_t errlen)
{
    /* O_NOFOLLOW: the path was resolved already, a symlink now means it changed under us */
    *fd = open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (*fd < 0) {
        int e = errno;
        return weft_task_error(errbuf, errlen, weft_task_errno_result(e),
                               "%s: cannot open '%s': %s", task, path, strerror(e));
    }
    struct stat st;
    weft_task_result result = WEFT_TASK_OK;
    if (fstat(*fd, &st) != 0) {
        result = weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT, "%s: '%s': %s", task, path,
                                 strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        result = weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                                 "%s: '%s' is not a regular file", task, path);
    } else if (st.st_size > max) {
        result = weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                                 "%s: '%s' is %lld bytes, over %s (%lld)", task, path,
                                 (long long)st.st_size, max_what, max);
    }
    if (result != WEFT_TASK_OK) {
        close(*fd);
        *fd = -1;
        return result;
    }
    *size = (long long)st.st_size;
    return WEFT_TASK_OK;
}

/* Reads at most max+1 bytes of the regular file at abs into a new buffer. */
static weft_task_result read_file(const char *abs, const char *path, json_int_t max, char **buf,
                                  size_t *len, char *errbuf, size_t errlen)
{
    int fd;
    long long size;
    weft_task_result result = weft_task_open_input("file.load", abs, path, (long long)max,
                                                   "max_bytes", &fd, &size, errbuf, errlen);
    if (result != WEFT_TASK_OK)
        return result;

    size_t cap = (size_t)max + 1, n = 0;
    char *data = weft_xmalloc(cap ? cap : 1);
    while (n < cap) {
        ssize_t got = read(fd, data + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            result = weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                     "file.load: reading '%s': %s", path, strerror(errno));
            break;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    if (result == WEFT_TASK_OK && n > (size_t)max) /* grew since fstat */
        result = weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                                 "file.load: '%s' is over max_bytes (%lld)", path, (long long)max);
    if (result != WEFT_TASK_OK) {
        free(data);
        return result;
    }
    *buf = data;
    *len = n;
    return WEFT_TASK_OK;
}

weft_task_result weft_task_file_load(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                     size_t errlen)
{
    const char *path;
    json_int_t max;
    if (!weft_task_str_arg(ctx, "path", NULL, &path) || !path || !*path)
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "file.load: 'path' must be a non-empty string");
    if (!weft_task_int_arg(ctx, "max_bytes", FILE_LOAD_DEFAULT_MAX_BYTES, &max) || max < 0 ||
        (unsigned long long)max >= SIZE_MAX)
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "file.load: 'max_bytes' must be an integer >= 0");

    char *abs;
    weft_task_result result =
        weft_task_data_path(ctx, "file.load", path, true, &abs, errbuf, errlen);
    if (result != WEFT_TASK_OK)
        return result;

    char *data = NULL;
    size_t n = 0;
    result = read_file(abs, path, max, &data, &n, errbuf, errlen);
    if (result == WEFT_TASK_OK) {
        json_t *content = json_stringn(data, n);
        free(data);
        if (!content) {
            result = weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                                     "file.load: '%s' is not UTF-8 text", path);
        } else {
            *output = json_object();
            json_object_set_new(*output, "content", content);
            json_object_set_new(*output, "path", json_string(abs));
            json_object_set_new(*output, "bytes", json_integer((json_int_t)n));
        }
    }
    free(abs);
    return result;
}

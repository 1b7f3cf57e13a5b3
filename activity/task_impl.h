/* Private to the built-in tasks: their handlers (registered by tasks.c) and the argument
 * helpers they share. Every handler has the weft_task_fn contract of task.h. */
#ifndef WEFT_TASK_IMPL_H
#define WEFT_TASK_IMPL_H

#include "task.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* task_basic.c */
weft_task_handler weft_task_noop;
weft_task_handler weft_task_sleep;
weft_task_handler weft_task_fail;
/* task_http.c */
weft_task_handler weft_task_http_fetch;
/* task_file.c */
weft_task_handler weft_task_file_load;
/* task_s3.c */
weft_task_handler weft_task_s3_list;
weft_task_handler weft_task_s3_get;
weft_task_handler weft_task_s3_put;
/* task_text.c */
weft_task_handler weft_task_text_replace;
weft_task_handler weft_task_text_summary;

/* Resolves `path` (relative to ctx->data_dir, or absolute) to an absolute path that stays
 * inside the data dir once symlinks are followed. With must_exist the whole path must exist
 * (file.load); without, only its directory does and the last component is kept as given
 * (a file about to be written). *out is new (caller frees) on WEFT_TASK_OK; on failure
 * errbuf says why, prefixed with `task`. Defined in task_file.c. */
weft_task_result weft_task_data_path(const weft_task_ctx *ctx, const char *task, const char *path,
                                     bool must_exist, char **out, char *errbuf, size_t errlen);

/* Opens the regular file at abs (resolved by weft_task_data_path with must_exist) for
 * reading into *fd (the caller closes it), its size in *size; one over max bytes is
 * PERMANENT, "over MAX_WHAT (MAX)". Messages name path, what the workflow gave, prefixed
 * with task. Defined in task_file.c. */
weft_task_result weft_task_open_input(const char *task, const char *abs, const char *path,
                                      long long max, const char *max_what, int *fd, long long *size,
                                      char *errbuf, size_t errlen);

/* PERMANENT for an errno that names the workflow's mistake (ENOENT, ENOTDIR, EACCES, ELOOP,
 * ENAMETOOLONG), else TRANSIENT (EIO, ENOSPC, ENOMEM may pass). Defined in task_file.c. */
weft_task_result weft_task_errno_result(int e);

/* True for the libcurl failures that retrying will not fix (a malformed URL, an unsupported
 * protocol, a certificate that does not verify, ...); everything else (connect, resolve,
 * timeouts, resets, TLS handshakes) may pass and is TRANSIENT. Defined in task_http.c. */
bool weft_task_curl_permanent(CURLcode rc);

/* Writes a one-line reason into errbuf and returns r: `return weft_task_error(...)`. */
static inline weft_task_result weft_task_error(char *errbuf, size_t errlen, weft_task_result r,
                                               const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline weft_task_result weft_task_error(char *errbuf, size_t errlen, weft_task_result r,
                                               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errbuf && errlen)
        vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    return r;
}

/* A new copy of the input object ({} when there is none). */
static inline json_t *weft_task_input_copy(const weft_task_ctx *ctx)
{
    json_t *copy = json_is_object(ctx->input) ? json_deep_copy(ctx->input) : NULL;
    return copy ? copy : json_object();
}

/* The input value under key (borrowed), or NULL when absent or JSON null. */
static inline const json_t *weft_task_arg(const weft_task_ctx *ctx, const char *key)
{
    const json_t *v = json_is_object(ctx->input) ? json_object_get(ctx->input, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

/* Reads integer argument key: def when absent, false when present but not an integer. */
static inline bool weft_task_int_arg(const weft_task_ctx *ctx, const char *key, json_int_t def,
                                     json_int_t *out)
{
    const json_t *v = weft_task_arg(ctx, key);
    if (!v) {
        *out = def;
        return true;
    }
    if (!json_is_integer(v))
        return false;
    *out = json_integer_value(v);
    return true;
}

/* Reads string argument key: def when absent, false when present but not a string or when
 * it holds a NUL byte (a C string would silently cut it). */
static inline bool weft_task_str_arg(const weft_task_ctx *ctx, const char *key, const char *def,
                                     const char **out)
{
    const json_t *v = weft_task_arg(ctx, key);
    if (!v) {
        *out = def;
        return true;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return false;
    *out = json_string_value(v);
    return true;
}

#endif

/* The test-and-demo tasks: noop, sleep, fail. */
#include "task_impl.h"

#include "alloc.h"
#include "clock.h"

#include <stdlib.h>
#include <sys/stat.h>

weft_task_result weft_task_noop(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                size_t errlen)
{
    *output = weft_task_input_copy(ctx);
    return WEFT_TASK_OK;
}

weft_task_result weft_task_sleep(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                 size_t errlen)
{
    json_int_t ms;
    if (!weft_task_int_arg(ctx, "ms", 0, &ms) || ms < 0)
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "sleep: 'ms' must be an integer >= 0");
    weft_clock_sleep_ms(ms);
    *output = weft_task_input_copy(ctx);
    json_object_set_new(*output, "slept_ms", json_integer(ms));
    return WEFT_TASK_OK;
}

/* True when path exists; relative paths count from the data dir when there is one, so every
 * worker sees the same file whatever its working directory. */
static bool file_exists(const weft_task_ctx *ctx, const char *path)
{
    struct stat st;
    if (path[0] == '/' || !ctx->data_dir)
        return stat(path, &st) == 0;
    char *full = weft_xasprintf("%s/%s", ctx->data_dir, path);
    bool exists = stat(full, &st) == 0;
    free(full);
    return exists;
}

weft_task_result weft_task_fail(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                size_t errlen)
{
    const char *code, *message, *while_file;
    json_int_t times;
    if (!weft_task_str_arg(ctx, "code", "PERMANENT", &code) ||
        (strcmp(code, "TRANSIENT") != 0 && strcmp(code, "PERMANENT") != 0 &&
         strcmp(code, "CRASH") != 0))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "fail: 'code' must be \"TRANSIENT\", \"PERMANENT\" or \"CRASH\"");
    if (!weft_task_str_arg(ctx, "message", "fail task", &message))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "fail: 'message' must be a string");
    if (!weft_task_str_arg(ctx, "while_file", NULL, &while_file) || (while_file && !*while_file))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "fail: 'while_file' must be a non-empty string");
    bool has_times = weft_task_arg(ctx, "times") != NULL;
    if (!weft_task_int_arg(ctx, "times", 0, &times))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "fail: 'times' must be an integer");

    bool fails = true;
    if (while_file)
        fails = fails && file_exists(ctx, while_file);
    if (has_times)
        fails = fails && ctx->attempt <= times;
    if (!fails) {
        *output = weft_task_input_copy(ctx);
        return WEFT_TASK_OK;
    }
    if (strcmp(code, "CRASH") == 0)
        abort(); /* a handler that dies: the worker must survive it */
    return weft_task_error(
        errbuf, errlen, strcmp(code, "TRANSIENT") == 0 ? WEFT_TASK_TRANSIENT : WEFT_TASK_PERMANENT,
        "%s", message);
}

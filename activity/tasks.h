/* The built-in tasks of weft-activity (also linked by the CLI for direct mode).
 *
 *   noop          output = the input
 *   sleep         waits `ms` (integer >= 0, default 0); output = input + {"slept_ms": ms}
 *   fail          fails with `code` (TRANSIENT | PERMANENT, default PERMANENT; CRASH aborts
 *                 the task process) and `message`
 *                 ("fail task"); only while file `while_file` exists and only while
 *                 attempt <= `times`, when those are given; otherwise output = the input
 *   http.fetch    GET `url` (http/https) into a file of the data dir
 *   file.load     reads a UTF-8 text file of the data dir into {"content": ...}
 *   text.replace  replaces `from` by `to` in `content`
 *   text.summary  counts lines, words, characters and the top words of `content`
 *
 * Every handler reads its arguments from the merged input (workflow inputs, upstream
 * outputs, params: params win), and a bad argument is a PERMANENT error naming the field.
 * File tasks stay inside ctx->data_dir (WEFT_DATA_DIR). */
#ifndef WEFT_TASKS_H
#define WEFT_TASKS_H

#include "task.h"

/* Process-wide set-up the tasks need (libcurl's global init). main() calls it once, before
 * any thread starts; it is not thread-safe. */
void weft_tasks_global_init(void);

/* Registers every built-in task in r (borrowed). */
void weft_tasks_register_builtin(weft_task_registry *r);

#endif

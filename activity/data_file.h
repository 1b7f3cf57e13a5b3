/* A file of the data dir being written by a task (http.fetch, s3.get), so that no reader
 * ever sees half of it and a crash leaves it whole or absent.
 *
 * States: open (weft_data_file_open: a new temporary file `.weft-partial-XXXXXX` in the
 * final path's folder, written through f) → committed (weft_data_file_commit: flushed,
 * synced, renamed over the final path, the folder synced) or aborted
 * (weft_data_file_abort: the temporary file removed). Either ends the struct: its memory
 * is freed and f is closed. A task process killed while a file is open (an attempt's
 * timeout, a shutdown) leaves its temporary file behind; nothing removes those yet, and
 * the dot keeps them out of a plain `ls`. */
#ifndef WEFT_DATA_FILE_H
#define WEFT_DATA_FILE_H

#include "task.h"

#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *f;    /* open for writing while the file is open */
    char *path; /* new: the final path (absolute, checked by weft_task_data_path) */
    char *tmp;  /* new: the temporary file's path */
} weft_data_file;

/* Opens a temporary file for path (borrowed; copied) in df (the caller's memory). On
 * failure df holds nothing to end, and errbuf says why, prefixed with task. */
weft_task_result weft_data_file_open(weft_data_file *df, const char *task, const char *path,
                                     char *errbuf, size_t errlen);

/* Puts the written file in place (TRANSIENT, errbuf saying why, when a step fails; the
 * temporary file is then removed). Ends df either way. */
weft_task_result weft_data_file_commit(weft_data_file *df, const char *task, char *errbuf,
                                       size_t errlen);

/* Removes the temporary file and ends df. */
void weft_data_file_abort(weft_data_file *df);

#endif

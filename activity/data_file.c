#include "data_file.h"

#include "alloc.h"
#include "task_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DATA_FILE_TMP_NAME ".weft-partial-XXXXXX"

static void data_file_end(weft_data_file *df)
{
    free(df->path);
    free(df->tmp);
    df->f = NULL;
    df->path = df->tmp = NULL;
}

weft_task_result weft_data_file_open(weft_data_file *df, const char *task, const char *path,
                                     char *errbuf, size_t errlen)
{
    const char *name = strrchr(path, '/') + 1;
    df->path = weft_xstrdup(path);
    df->tmp = weft_xasprintf("%.*s%s", (int)(name - path), path, DATA_FILE_TMP_NAME);
    int fd = mkostemp(df->tmp, O_CLOEXEC);
    df->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (df->f)
        return WEFT_TASK_OK;
    int e = errno;
    if (fd >= 0) {
        close(fd);
        unlink(df->tmp);
    }
    data_file_end(df);
    return weft_task_error(errbuf, errlen, weft_task_errno_result(e),
                           "%s: cannot create a file next to '%s': %s", task, path, strerror(e));
}

/* Flushes, syncs and closes f: the file must be on disk before it is renamed into place. */
static bool close_synced(FILE *f)
{
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    return fclose(f) == 0 && ok;
}

/* Makes a rename in the folder of path durable. */
static bool sync_dir_of(const char *path)
{
    const char *name = strrchr(path, '/') + 1;
    char *dir = weft_xstrndup(path, (size_t)(name - path));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

weft_task_result weft_data_file_commit(weft_data_file *df, const char *task, char *errbuf,
                                       size_t errlen)
{
    weft_task_result result = WEFT_TASK_OK;
    if (!close_synced(df->f)) {
        result = weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT, "%s: writing '%s' failed: %s",
                                 task, df->tmp, strerror(errno));
        unlink(df->tmp);
    } else if (rename(df->tmp, df->path) != 0) {
        result =
            weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT, "%s: cannot rename into '%s': %s",
                            task, df->path, strerror(errno));
        unlink(df->tmp);
    } else if (!sync_dir_of(df->path)) {
        result = weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                 "%s: cannot sync the directory of '%s': %s", task, df->path,
                                 strerror(errno));
    }
    data_file_end(df);
    return result;
}

void weft_data_file_abort(weft_data_file *df)
{
    fclose(df->f);
    unlink(df->tmp);
    data_file_end(df);
}

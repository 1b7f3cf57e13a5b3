#include "handoff_trace.h"

#include "alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char wf[40];
    long long start, end;
    int pid;
} span;

static int by_workflow_then_start(const void *a, const void *b)
{
    const span *x = a, *y = b;
    int c = strcmp(x->wf, y->wf);
    if (c)
        return c;
    return x->start < y->start ? -1 : x->start > y->start;
}

static void count_pid(handoff_trace_report *r, pid_t pid)
{
    for (int i = 0; i < r->npids; i++)
        if (r->pids[i] == pid) {
            r->per_pid[i]++;
            return;
        }
    if (r->npids < HANDOFF_TRACE_MAX_PIDS) {
        r->pids[r->npids] = pid;
        r->per_pid[r->npids++] = 1;
    }
}

/* Sorted by workflow and start, a handoff overlaps an earlier one of its workflow when it
 * starts before the latest end so far, unless both are of one batch. */
static void find_overlaps(span *s, size_t n, handoff_trace_report *r)
{
    qsort(s, n, sizeof *s, by_workflow_then_start);
    long long latest_end = 0;
    for (size_t i = 0; i < n; i++) {
        bool same = i > 0 && strcmp(s[i].wf, s[i - 1].wf) == 0;
        if (!same) {
            r->workflows++;
            latest_end = s[i].end;
            continue;
        }
        /* the same span of the same process: two handoffs of one batch, which ran one after
         * the other inside it (engine.h) and share its start and end */
        bool batched = s[i].start == s[i - 1].start && s[i].end == s[i - 1].end &&
                       s[i].pid == s[i - 1].pid;
        if (s[i].start < latest_end && !batched) {
            if (!r->overlaps++)
                snprintf(r->first_overlap, sizeof r->first_overlap,
                         "workflow %s: a handoff started at %lld ns, %lld ns before an earlier "
                         "one ended",
                         s[i].wf, s[i].start, latest_end - s[i].start);
        }
        if (s[i].end > latest_end)
            latest_end = s[i].end;
    }
}

bool handoff_trace_read(const char *path, handoff_trace_report *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read the handoff trace '%s': %s", path, strerror(errno));
        return false;
    }
    size_t n = 0, cap = 0;
    span *spans = NULL;
    char line[256];
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        span s;
        int shard, pid;
        if (sscanf(line, "%39s %d %lld %lld %d", s.wf, &shard, &s.start, &s.end, &pid) != 5 ||
            shard < 0 || shard >= WEFT_HANDOFF_SHARDS_MAX || s.end < s.start) {
            snprintf(err, errlen, "handoff trace '%s': malformed line '%.*s'", path,
                     (int)strcspn(line, "\n"), line);
            ok = false;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            spans = weft_xrealloc(spans, cap * sizeof *spans);
        }
        s.pid = pid;
        spans[n++] = s;
        r->handoffs++;
        if (!r->per_shard[shard]++)
            r->shards_used++;
        count_pid(r, (pid_t)pid);
    }
    fclose(f);
    if (ok)
        find_overlaps(spans, n, r);
    free(spans);
    return ok;
}

long handoff_trace_of_pid(const handoff_trace_report *r, pid_t pid)
{
    for (int i = 0; i < r->npids; i++)
        if (r->pids[i] == pid)
            return r->per_pid[i];
    return 0;
}

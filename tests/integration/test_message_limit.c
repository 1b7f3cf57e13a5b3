/* A body over WEFT_MAX_MESSAGE_BYTES is refused from its content header: the consumer never
 * holds it in memory, and weft.dead keeps its start with a reason naming both sizes. */
#include "harness.h"

#include "alloc.h"
#include "queues.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pid_t entry;

static void stop_entry(void)
{
    harness_procs p = {entry, 0, 0};
    harness_stop(&p);
}

/* The peak resident size of pid so far (VmHWM), in KiB. */
static long peak_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot read %s", path);
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    cr_assert(kib > 0, "no VmHWM in %s", path);
    return kib;
}

Test(message_limit, body_of_60_mb_is_dead_lettered_without_being_held_in_memory, .timeout = 120,
     .fini = stop_entry)
{
    entry = harness_spawn("weft-entry", NULL);
    usleep(500 * 1000);
    cr_assert(harness_alive(entry), "weft-entry exited at start");
    long before = peak_kib(entry);

    char marker[WEFT_UUID_LEN + 1];
    weft_uuid_new(marker);
    const size_t size = 60u * 1000u * 1000u;
    char *body = weft_xmalloc(size + 1);
    int head = snprintf(body, size, "{\"marker\": \"%s\", \"pad\": \"", marker);
    memset(body + head, 'x', size - (size_t)head - 2);
    memcpy(body + size - 2, "\"}", 3);
    harness_publish(WEFT_QUEUE_ENTRY, body);
    free(body);

    /* the kept start carries the marker, so the message is found by it */
    char *reason = harness_dead_find(marker, 60);
    cr_assert(reason, "the oversize message did not reach weft.dead");
    char want[128];
    snprintf(want, sizeof want, "message of %zu bytes is over the limit of", size);
    cr_expect(strstr(reason, want), "reason '%s' lacks '%s'", reason, want);
    free(reason);
    cr_assert(harness_alive(entry), "weft-entry died on the oversize message");
    long grown = peak_kib(entry) - before;
    cr_expect(grown < 16 * 1024, "weft-entry's peak RSS grew %ld KiB for one refused message",
              grown);
}

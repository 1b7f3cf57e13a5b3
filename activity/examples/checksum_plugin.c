/* An example task plugin: `checksum` reads `content` (a string) from its input and returns
 * {"crc32": "<8 hex digits>", "bytes": N}. Built against the installed header only:
 *
 *   cc -shared -fPIC $(pkg-config --cflags weft-task) -o checksum.so checksum_plugin.c
 *
 * and named in a worker's task file: {"tasks": {"checksum": {"plugin": "checksum.so"}}}. */
#include <weft/task.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

bool weft_plugin_init(weft_task_registry *r);

/* CRC-32 (IEEE 802.3, reflected), bit by bit: an example, not a fast one. */
static uint32_t crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static weft_task_result checksum(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                 size_t errlen)
{
    json_t *content = json_object_get(ctx->input, "content");
    if (!json_is_string(content)) {
        snprintf(errbuf, errlen, "checksum: 'content' must be a string");
        return WEFT_TASK_PERMANENT;
    }
    const char *s = json_string_value(content);
    size_t n = json_string_length(content);
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", (unsigned)crc32((const unsigned char *)s, n));
    *output = json_pack("{s:s, s:I}", "crc32", hex, "bytes", (json_int_t)n);
    return *output ? WEFT_TASK_OK : WEFT_TASK_TRANSIENT;
}

bool weft_plugin_init(weft_task_registry *r)
{
    return weft_task_register(r, "checksum", checksum);
}

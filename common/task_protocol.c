#include "task_protocol.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void weft_protocol_attempt_id(const weft_task_ctx *ctx, char id[WEFT_PROTOCOL_ID_LEN])
{
    snprintf(id, WEFT_PROTOCOL_ID_LEN, "%s/%d", ctx->activity_uid, ctx->attempt);
}

char *weft_protocol_request(const char *task, const char *id, const weft_task_ctx *c, size_t *len)
{
    json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:O, s:O, s:O}", "id", id, "task", task,
                            "workflow_uid", c->workflow_uid, "activity_uid", c->activity_uid,
                            "activity", c->activity_name, "attempt", c->attempt, "params",
                            c->params, "input", c->input, "upstream", c->upstream);
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (text)
        *len = strlen(text);
    return text;
}

void weft_protocol_utf8_trim(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : 4;
    if (lead >= 0x80 && n - (i - 1) < need)
        s[i - 1] = '\0';
}

weft_task_result weft_protocol_fail(char *errbuf, size_t errlen, weft_task_result r,
                                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    weft_protocol_utf8_trim(errbuf);
    return r;
}

void weft_protocol_printable(char *dst, size_t cap, const char *text, size_t n)
{
    size_t k = n < cap - 4 ? n : cap - 4;
    for (size_t i = 0; i < k; i++)
        dst[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
    strcpy(dst + k, n > k ? "..." : "");
}

weft_task_result weft_protocol_result(const char *task, const json_t *msg, json_t **output,
                                      bool *malformed, char *errbuf, size_t errlen)
{
    *malformed = false;
    if (strcmp(json_string_value(json_object_get(msg, "status")), "success") == 0) {
        json_t *data = json_object_get(msg, "data");
        if (data && !json_is_object(data))
            return weft_protocol_fail(
                errbuf, errlen, WEFT_TASK_PERMANENT,
                "task '%s' answered success with \"data\" that is not a JSON object", task);
        *output = data ? json_incref(data) : json_object();
        return WEFT_TASK_OK;
    }
    const json_t *e = json_object_get(msg, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *text = json_string_value(json_object_get(e, "message"));
    bool permanent = code && strcmp(code, "PERMANENT_ERROR") == 0;
    if (!json_is_object(e) || !code || (!permanent && strcmp(code, "TRANSIENT_ERROR") != 0)) {
        *malformed = true;
        return weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                  "task '%s' answered failure without an error code"
                                  " TRANSIENT_ERROR or PERMANENT_ERROR%s%.300s",
                                  task, text ? ": " : "", text ? text : "");
    }
    return weft_protocol_fail(errbuf, errlen, permanent ? WEFT_TASK_PERMANENT : WEFT_TASK_TRANSIENT,
                              "%s: %.400s", task, text && *text ? text : code);
}

#include "s3_xml.h"

#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Markup that may hold a '<' that is no tag: what opens it and what closes it. */
static const struct {
    const char *open, *close;
} opaque[] = {{"<!--", "-->"}, {"<![CDATA[", "]]>"}, {"<?", "?>"}};

static bool starts(const char *p, const char *end, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

static const char *find(const char *p, const char *end, const char *s)
{
    size_t n = strlen(s);
    for (; (size_t)(end - p) >= n; p++)
        if (memcmp(p, s, n) == 0)
            return p;
    return NULL;
}

/* p (at a '<') past a comment, CDATA section or processing instruction: the first byte
 * after it, end when it is not closed, or p itself when it is none of them. */
static const char *skip_opaque(const char *p, const char *end)
{
    for (size_t i = 0; i < sizeof opaque / sizeof opaque[0]; i++) {
        if (starts(p, end, opaque[i].open)) {
            const char *close = find(p + strlen(opaque[i].open), end, opaque[i].close);
            return close ? close + strlen(opaque[i].close) : end;
        }
    }
    return p;
}

/* Whether the tag name at p is name, as a whole word ("<Key>" but not "<KeyCount>"). */
static bool tag_named(const char *p, const char *end, const char *name)
{
    size_t n = strlen(name);
    if ((size_t)(end - p) <= n || memcmp(p, name, n) != 0)
        return false;
    char c = p[n];
    return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The next tag in [p, end) whose name (after '<' and close, "/" or "") is name, stepping
 * over opaque markup; NULL when there is none. */
static const char *find_tag(const char *p, const char *end, const char *close, const char *name)
{
    size_t cn = strlen(close);
    while ((p = memchr(p, '<', (size_t)(end - p)))) {
        const char *after = skip_opaque(p, end);
        if (after != p) {
            p = after;
            continue;
        }
        if ((size_t)(end - p) > cn + 1 && memcmp(p + 1, close, cn) == 0 &&
            tag_named(p + 1 + cn, end, name))
            return p;
        p++;
    }
    return NULL;
}

bool weft_s3_xml_next(const char **pos, const char *end, const char *name, const char **body,
                      size_t *body_len)
{
    const char *open = find_tag(*pos, end, "", name);
    if (!open)
        return false;
    const char *gt = memchr(open, '>', (size_t)(end - open));
    if (!gt)
        return false;
    if (gt[-1] == '/') { /* <name/> */
        *body = gt + 1;
        *body_len = 0;
        *pos = gt + 1;
        return true;
    }
    const char *close = find_tag(gt + 1, end, "/", name);
    const char *close_gt = close ? memchr(close, '>', (size_t)(end - close)) : NULL;
    if (!close_gt)
        return false;
    *body = gt + 1;
    *body_len = (size_t)(close - (gt + 1));
    *pos = close_gt + 1;
    return true;
}

/* Appends code point cp as UTF-8 at out; false for one XML may not hold. */
static bool put_utf8(uint32_t cp, char **out)
{
    unsigned char *o = (unsigned char *)*out;
    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return false;
    if (cp < 0x80) {
        *o++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *o++ = (unsigned char)(0xC0 | (cp >> 6));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (unsigned char)(0xE0 | (cp >> 12));
        *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (unsigned char)(0xF0 | (cp >> 18));
        *o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    *out = (char *)o;
    return true;
}

/* Decodes the reference at p ('&') into out; returns the byte after its ';', or NULL. */
static const char *decode_reference(const char *p, const char *end, char **out)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (starts(p, end, named[i].name)) {
            *(*out)++ = named[i].c;
            return p + strlen(named[i].name);
        }
    }
    if (!starts(p, end, "&#"))
        return NULL;
    p += 2;
    int base = 10;
    if (p < end && *p == 'x') {
        base = 16;
        p++;
    }
    uint32_t cp = 0;
    const char *digits = p;
    for (; p < end && *p != ';'; p++) {
        int d = *p >= '0' && *p <= '9'                 ? *p - '0'
                : base == 16 && *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                : base == 16 && *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                                       : -1;
        if (d < 0 || cp > 0x10FFFF)
            return NULL;
        cp = cp * (uint32_t)base + (uint32_t)d;
    }
    if (p == digits || p == end || !put_utf8(cp, out))
        return NULL;
    return p + 1;
}

/* The decoded text of [p, end) as a new string, or NULL when it is malformed. A decoded
 * text is never longer than its source. */
static char *decode_text(const char *p, const char *end)
{
    char *text = weft_xmalloc((size_t)(end - p) + 1), *out = text;
    while (p < end) {
        if (*p == '&') {
            p = decode_reference(p, end, &out);
        } else if (*p == '<' && starts(p, end, "<![CDATA[")) {
            const char *from = p + strlen("<![CDATA["), *close = find(from, end, "]]>");
            if (close) {
                memcpy(out, from, (size_t)(close - from));
                out += close - from;
                p = close + 3;
            } else {
                p = NULL;
            }
        } else if (*p == '<') {
            const char *after = skip_opaque(p, end);
            p = after != p && starts(p, end, "<!--") ? after : NULL; /* a comment: no text */
        } else if (*p == '\0') {
            p = NULL;
        } else {
            *out++ = *p++;
        }
        if (!p) {
            free(text);
            return NULL;
        }
    }
    *out = '\0';
    if (memchr(text, '\0', (size_t)(out - text))) { /* a CDATA section may hold a NUL */
        free(text);
        return NULL;
    }
    return text;
}

char *weft_s3_xml_text(const char *xml, size_t len, const char *name)
{
    const char *pos = xml, *body;
    size_t n;
    if (!weft_s3_xml_next(&pos, xml + len, name, &body, &n))
        return NULL;
    return decode_text(body, body + n);
}

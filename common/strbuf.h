/* A growing NUL-terminated string for text built in pieces (a graph, a screen). The buffer
 * is the caller's: zero-initialise, append, then take `s` (owned; free() it) or call
 * weft_strbuf_finish. Growth aborts on exhaustion, as alloc.h does. */
#ifndef WEFT_STRBUF_H
#define WEFT_STRBUF_H

#include <stddef.h>

typedef struct {
    char *s; /* owned; NULL until the first append */
    size_t len, cap;
} weft_strbuf;

/* Appends n bytes of s (borrowed). */
void weft_strbuf_put(weft_strbuf *b, const char *s, size_t n);
/* Appends printf-style text. */
void weft_strbuf_add(weft_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the text; the buffer is empty again. */
void weft_strbuf_finish(weft_strbuf *b);

#endif

/* Allocation that never returns NULL: weft is a daemon, and the one sane reaction to an
 * exhausted heap is to log and abort so the supervisor restarts it; unacked messages are
 * redelivered, so nothing is lost. */
#ifndef WEFT_ALLOC_H
#define WEFT_ALLOC_H

#include <stddef.h>

/* Each returns new memory the caller frees with free(); abort() on exhaustion. */
void *weft_xmalloc(size_t n);
void *weft_xcalloc(size_t n, size_t size);
void *weft_xrealloc(void *p, size_t n);
char *weft_xstrdup(const char *s);
char *weft_xstrndup(const char *s, size_t n);
/* printf into a new string. */
char *weft_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

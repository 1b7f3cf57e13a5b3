/* One status type for all of libweft, and the error context that goes with it. */
#ifndef WEFT_STATUS_H
#define WEFT_STATUS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    WEFT_OK = 0,
    WEFT_EINVAL,    /* the input can never be processed: bad JSON, bad shape, invalid definition */
    WEFT_ENOTFOUND, /* unknown workflow or activity */
    WEFT_ETOOBIG,   /* over a configured limit */
    WEFT_ESTALE,    /* a duplicate or stale message: nothing to do */
    WEFT_EDB,       /* Postgres unreachable or failed: retry later */
    WEFT_EAMQP,     /* RabbitMQ unreachable or failed: retry later */
    WEFT_EREDIS,    /* Redis unreachable or failed: retry later */
    WEFT_EIO,       /* local I/O failed */
    WEFT_ETIMEOUT,  /* a wait ran out */
    WEFT_EBUSY,     /* a lock is held by someone else */
    WEFT_ESHUTDOWN, /* the process is stopping */
} weft_status;

/* What went wrong, in words a person can act on ("activity 'load': depends_on ..."). */
typedef struct {
    weft_status status;
    char msg[512];
} weft_err;

/* Static text for a status; never NULL. */
const char *weft_strerror(weft_status s);

/* True for the statuses that say a message can never be processed (EINVAL, ENOTFOUND,
 * ETOOBIG): it is dead-lettered with its reason. Every other failure is infrastructure or a
 * shutdown, and the message goes back to the broker to be retried. */
bool weft_status_is_poison(weft_status s);

/* Records status and a printf-style message in err (err may be NULL); returns s so callers
 * can write `return weft_err_set(err, WEFT_EINVAL, "...")`. */
weft_status weft_err_set(weft_err *err, weft_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes err->msg with a printf-style context ("workflow 'x': "); returns err->status. */
weft_status weft_err_prefix(weft_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

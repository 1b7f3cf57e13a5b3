#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *weft_strerror(weft_status s)
{
    switch (s) {
    case WEFT_OK:
        return "ok";
    case WEFT_EINVAL:
        return "invalid input";
    case WEFT_ENOTFOUND:
        return "not found";
    case WEFT_ETOOBIG:
        return "over a limit";
    case WEFT_ESTALE:
        return "stale or duplicate";
    case WEFT_EDB:
        return "database failure";
    case WEFT_EAMQP:
        return "broker failure";
    case WEFT_EREDIS:
        return "redis failure";
    case WEFT_EIO:
        return "i/o failure";
    case WEFT_ETIMEOUT:
        return "timed out";
    case WEFT_EBUSY:
        return "busy";
    case WEFT_ESHUTDOWN:
        return "shutting down";
    }
    return "unknown status";
}

bool weft_status_is_poison(weft_status s)
{
    return s == WEFT_EINVAL || s == WEFT_ENOTFOUND || s == WEFT_ETOOBIG;
}

weft_status weft_err_set(weft_err *err, weft_status s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = s;
    }
    return s;
}

weft_status weft_err_prefix(weft_err *err, const char *fmt, ...)
{
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n >= sizeof err->msg)
        n = sizeof err->msg - 1;
    memcpy(err->msg, prefix, n);
    size_t rest = strnlen(old, sizeof old - 1);
    if (rest > sizeof err->msg - 1 - n)
        rest = sizeof err->msg - 1 - n;
    memcpy(err->msg + n, old, rest);
    err->msg[n + rest] = '\0';
    return err->status;
}

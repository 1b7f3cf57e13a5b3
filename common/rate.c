#include "rate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    double seconds;
} units[] = {{"s", 1}, {"sec", 1}, {"m", 60}, {"min", 60}, {"h", 3600}, {"hour", 3600}};

weft_status weft_rate_parse(const char *text, double *per_s, weft_err *err)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    if (!slash || slash == text)
        return weft_err_set(err, WEFT_EINVAL,
                            "rate '%.64s' must be COUNT/UNIT, e.g. 10/s, 600/m or 100/h",
                            text ? text : "");
    /* digits and one point only: strtod would take "inf", "0x10" and " 5" */
    size_t nlen = (size_t)(slash - text);
    size_t digits = strspn(text, "0123456789.");
    const char *dot = memchr(text, '.', nlen);
    if (digits != nlen || (dot && memchr(dot + 1, '.', nlen - (size_t)(dot - text) - 1)) ||
        (nlen == 1 && dot))
        return weft_err_set(err, WEFT_EINVAL, "rate '%.64s': the count must be a positive number",
                            text);
    double count = strtod(text, NULL);
    double unit = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(slash + 1, units[i].name) == 0)
            unit = units[i].seconds;
    if (unit == 0)
        return weft_err_set(err, WEFT_EINVAL, "rate '%.64s': the unit must be s, m or h", text);
    double r = count / unit;
    if (!(r >= WEFT_RATE_MIN_PER_S) || r > WEFT_RATE_MAX_PER_S)
        return weft_err_set(err, WEFT_EINVAL,
                            "rate '%.64s' must be from 1/86400 per second (one a day) to %.0f/s",
                            text, WEFT_RATE_MAX_PER_S);
    *per_s = r;
    return WEFT_OK;
}

double weft_rate_interval_ms(double per_s)
{
    return 1000.0 / per_s;
}

int weft_rate_hop_ms(int wait_ms, const int *buckets, size_t n)
{
    int hop = n ? buckets[0] : wait_ms;
    for (size_t i = 0; i < n && buckets[i] <= wait_ms; i++)
        hop = buckets[i];
    return hop;
}

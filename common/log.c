#include "log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

weft_log_level weft_log_min_level = WEFT_LOG_INFO;
static weft_log_format log_format = WEFT_LOG_TEXT;
static const char *log_component = "weft";
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void weft_log_init(const char *component, weft_log_level level, weft_log_format format)
{
    log_component = component;
    weft_log_min_level = level;
    log_format = format;
}

weft_log_format weft_log_get_format(void)
{
    return log_format;
}

bool weft_log_parse_level(const char *s, weft_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (weft_log_level)i;
            return true;
        }
    }
    return false;
}

bool weft_log_parse_format(const char *s, weft_log_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = WEFT_LOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = WEFT_LOG_JSON;
    else
        return false;
    return true;
}

void weft_log_emit(weft_log_level level, const char *file, int line, const char *wf,
                   const char *act, const char *fmt, ...)
{
    char msg[2048], ts[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03ldZ", (long)(tv.tv_usec / 1000));

    pthread_mutex_lock(&log_mutex);
    if (log_format == WEFT_LOG_JSON) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s}", "ts", ts, "level", level_names[level],
                              "component", log_component, "pid", (int)getpid(), "msg", msg);
        if (wf)
            json_object_set_new(o, "workflow_uid", json_string(wf));
        if (act)
            json_object_set_new(o, "activity_uid", json_string(act));
        if (weft_log_min_level == WEFT_LOG_DEBUG)
            json_object_set_new(o, "src", json_sprintf("%s:%d", file, line));
        char *s = json_dumps(o, JSON_COMPACT);
        if (s)
            fprintf(stderr, "%s\n", s);
        free(s);
        json_decref(o);
    } else {
        fprintf(stderr, "%s %s %s[%d]", ts, level_names[level], log_component, (int)getpid());
        if (wf)
            fprintf(stderr, " workflow=%s", wf);
        if (act)
            fprintf(stderr, " activity=%s", act);
        if (weft_log_min_level == WEFT_LOG_DEBUG)
            fprintf(stderr, " (%s:%d)", file, line);
        fprintf(stderr, ": %s\n", msg);
    }
    fflush(stderr);
    pthread_mutex_unlock(&log_mutex);
}

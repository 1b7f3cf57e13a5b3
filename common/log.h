/* The one log macro. It checks the level before formatting, carries the workflow and
 * activity a line is about, and writes text or JSON lines to stderr. */
#ifndef WEFT_LOG_H
#define WEFT_LOG_H

#include <stdbool.h>

typedef enum { WEFT_LOG_DEBUG, WEFT_LOG_INFO, WEFT_LOG_WARN, WEFT_LOG_ERROR } weft_log_level;
typedef enum { WEFT_LOG_TEXT, WEFT_LOG_JSON } weft_log_format;

extern weft_log_level weft_log_min_level;

/* Sets level and format; `component` (borrowed, must outlive logging) names the process. */
void weft_log_init(const char *component, weft_log_level level, weft_log_format format);

/* The format weft_log_init set (a task process is started with it). */
weft_log_format weft_log_get_format(void);

/* Parses "debug|info|warn|error" / "text|json"; false on an unknown word. */
bool weft_log_parse_level(const char *s, weft_log_level *out);
bool weft_log_parse_format(const char *s, weft_log_format *out);

/* Do not call directly: use WEFT_LOG. wf and act may be NULL. */
void weft_log_emit(weft_log_level level, const char *file, int line, const char *wf,
                   const char *act, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#define WEFT_LOG(level, wf, act, ...)                                                              \
    do {                                                                                           \
        if ((level) >= weft_log_min_level)                                                         \
            weft_log_emit((level), __FILE__, __LINE__, (wf), (act), __VA_ARGS__);                  \
    } while (0)

#endif

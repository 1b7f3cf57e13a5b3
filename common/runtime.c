#include "runtime.h"

#include "alloc.h"
#include "backoff.h"
#include "log.h"
#include "metrics_endpoint.h"
#include "telemetry.h"
#include "stop.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void weft_runtime_init(int argc, char **argv, const char *component, const char *usage,
                       weft_config *cfg)
{
    weft_err err = {0};
    if (weft_config_init(cfg, &err)) {
        fprintf(stderr, "%s: %s\n", component, err.msg);
        exit(2);
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("%s\n%s", usage, weft_config_help());
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", component, a);
            exit(2);
        }
        char name[64];
        const char *eq = strchr(a + 2, '=');
        const char *value;
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a - 2), a + 2);
            value = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a + 2);
            value = weft_config_is_switch(name) ? NULL : i + 1 < argc ? argv[++i] : NULL;
        }
        if (weft_config_flag(cfg, name, value, &err)) {
            fprintf(stderr, "%s: %s (see --help)\n", component, err.msg);
            exit(2);
        }
    }
    weft_log_init(component, cfg->log_level, cfg->log_format);
    /* A fixed threshold: buffers of big messages are mapped and unmapped on their own. By
     * default glibc raises the threshold after the first such free, and every later big body
     * then stays in the heap of the thread that read it. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_ARENA_MAX, 1);
}

void weft_runtime_exit_config(const char *msg)
{
    /* never unlocked: a second worker thread with the same error waits here for the exit */
    static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&once);
    WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL, "%s", msg);
    /* _exit: the exit handlers of the TLS libraries would run under the feet of the other
     * threads, which may be inside a handshake, and could turn status 2 into a crash */
    fflush(NULL);
    _exit(2);
}

typedef weft_status (*connect_fn)(const char *url, void **out, weft_err *err);

static weft_status connect_store(const char *url, void **out, weft_err *err)
{
    return weft_store_connect(url, (weft_store **)out, err);
}

static weft_status connect_lock(const char *url, void **out, weft_err *err)
{
    return weft_lock_connect(url, (weft_lock **)out, err);
}

/* Retries connect until it works, a stop is requested (NULL), or the configuration itself is
 * wrong (exit 2: no retry can fix it). One log line per outage. */
static void *connect_with_backoff(const char *service, connect_fn connect, const char *url)
{
    weft_backoff backoff = WEFT_BACKOFF_INIT(WEFT_BACKOFF_MAX_MS);
    bool logged = false;
    while (!weft_stop_requested) {
        weft_err err = {0};
        void *out = NULL;
        weft_status st = connect(url, &out, &err);
        if (st == WEFT_OK) {
            if (logged)
                WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "%s reachable again", service);
            return out;
        }
        if (st == WEFT_EINVAL)
            weft_runtime_exit_config(err.msg);
        if (!logged)
            WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL, "%s; retrying", err.msg);
        logged = true;
        weft_stop_sleep_ms(weft_backoff_next(&backoff));
    }
    return NULL;
}

weft_store *weft_runtime_store(const weft_config *cfg)
{
    return connect_with_backoff("postgres", connect_store, cfg->database_url);
}

weft_lock *weft_runtime_lock(const weft_config *cfg)
{
    return connect_with_backoff("redis", connect_lock, cfg->redis_url);
}

weft_http_server *weft_runtime_metrics(const weft_config *cfg, int consumers)
{
    weft_telemetry_expect_consumers(consumers);
    if (!cfg->metrics_addr)
        return NULL;
    weft_http_server *s = NULL;
    weft_err err = {0};
    if (weft_metrics_endpoint_start(cfg->metrics_addr, &s, &err))
        weft_runtime_exit_config(err.msg);
    return s;
}

char *weft_runtime_worker_id(const char *suffix)
{
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    return suffix ? weft_xasprintf("%s:%d:%s", host, (int)getpid(), suffix)
                  : weft_xasprintf("%s:%d", host, (int)getpid());
}

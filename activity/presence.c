#include "presence.h"

#include "alloc.h"
#include "backoff.h"
#include "log.h"
#include "runtime.h"
#include "stop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct weft_presence {
    weft_store *store; /* owned: the heartbeat's own connection */
    weft_worker_info info;
    char id[WEFT_UUID_LEN + 1];
    char host[256];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool stopping; /* under mu */
};

/* Registers until it works or a stop is requested; one log line per outage. */
static bool register_worker(weft_presence *p)
{
    weft_backoff backoff = WEFT_BACKOFF_INIT(WEFT_BACKOFF_MAX_MS);
    while (!weft_stop_requested) {
        weft_err err = {0};
        if (weft_store_worker_register(p->store, &p->info, &err) == WEFT_OK)
            return true;
        if (weft_backoff_first(&backoff))
            WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL, "registering worker %s: %s; retrying", p->id,
                     err.msg);
        weft_stop_sleep_ms(weft_backoff_next(&backoff));
    }
    return false;
}

/* Waits one interval; false once weft_presence_stop asked the thread to end. */
static bool wait_interval(weft_presence *p)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += p->info.heartbeat_s;
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    while (!p->stopping && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&p->wake, &p->mu, &until);
    bool go_on = !p->stopping;
    pthread_mutex_unlock(&p->mu);
    return go_on;
}

static void *heartbeat_main(void *arg)
{
    weft_presence *p = arg;
    bool failing = false;
    while (wait_interval(p)) {
        weft_err err = {0};
        weft_status st = weft_store_worker_heartbeat(p->store, p->id, &err);
        if (st == WEFT_ENOTFOUND)
            st = weft_store_worker_register(p->store, &p->info, &err);
        if (st && !failing)
            WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "heartbeat of worker %s: %s; trying again", p->id,
                     err.msg);
        else if (!st && failing)
            WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "heartbeat of worker %s recorded again", p->id);
        failing = st != WEFT_OK;
    }
    return NULL;
}

weft_presence *weft_presence_start(const weft_config *cfg, const weft_worker_info *w)
{
    weft_store *store = weft_runtime_store(cfg);
    if (!store)
        return NULL;
    weft_presence *p = weft_xcalloc(1, sizeof *p);
    p->store = store;
    p->info = *w;
    weft_uuid_new(p->id);
    gethostname(p->host, sizeof p->host - 1);
    p->info.id = p->id;
    p->info.host = p->host;
    p->info.pid = (int)getpid();
    p->info.heartbeat_s = WEFT_HEARTBEAT_S;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (!register_worker(p) || pthread_create(&p->thread, NULL, heartbeat_main, p) != 0) {
        if (!weft_stop_requested)
            WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL, "cannot start the heartbeat thread");
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->wake);
        weft_store_destroy(p->store);
        free(p);
        return NULL;
    }
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "registered as worker %s", p->id);
    return p;
}

const char *weft_presence_id(const weft_presence *p)
{
    return p->id;
}

void weft_presence_stop(weft_presence *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    weft_err err = {0};
    if (weft_store_worker_stop(p->store, p->id, &err))
        WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "recording that worker %s stopped: %s", p->id, err.msg);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    weft_store_destroy(p->store);
    free(p);
}

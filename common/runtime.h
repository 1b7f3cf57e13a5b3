/* Start-up shared by the binaries: flags and environment into a config, logging, and
 * connections that wait (with backoff) for their service instead of exiting. */
#ifndef WEFT_RUNTIME_H
#define WEFT_RUNTIME_H

#include "config.h"
#include "http_server.h"
#include "lock.h"
#include "store.h"

/* Parses argv into cfg (caller's memory, finished with weft_config_finish) after the
 * environment, and initializes logging as component (borrowed, static). Prints usage
 * (borrowed) and the shared help on --help and exits 0; prints a one-line error and exits 2
 * on a bad flag. */
void weft_runtime_init(int argc, char **argv, const char *component, const char *usage,
                       weft_config *cfg);

/* Connects to Postgres / Redis, retrying with capped backoff and one log line per outage
 * until it works; NULL only when a stop was requested meanwhile. New objects. A refusal
 * that no retry fixes (WEFT_EINVAL: a malformed URL, a server certificate that does not
 * verify, a wrong Redis password) ends the process instead: weft_runtime_exit_config. */
weft_store *weft_runtime_store(const weft_config *cfg);
weft_lock *weft_runtime_lock(const weft_config *cfg);

/* With --metrics (cfg->metrics_addr), starts the metrics endpoint (metrics_endpoint.h) for a
 * process of `consumers` consumers; NULL without. New server, stopped with weft_http_stop.
 * An address that cannot be bound ends the process: weft_runtime_exit_config. */
weft_http_server *weft_runtime_metrics(const weft_config *cfg, int consumers);

/* Logs msg (borrowed) as the one error line of a configuration that cannot work and exits
 * with status 2, which tells a supervisor that restarting will not help either. Threads that
 * call it at the same time wait for the first one's exit, so the log gets one line. */
_Noreturn void weft_runtime_exit_config(const char *msg);

/* "host:pid" plus suffix (may be NULL): a new string naming this worker. */
char *weft_runtime_worker_id(const char *suffix);

#endif

/* The stop request: SIGTERM or SIGINT sets one process-wide flag, and every loop that can
 * wait (the consumer, reconnects, a running task's grace period, a store retry) checks it,
 * takes no new work and returns. Nothing else is done in the signal handler. */
#ifndef WEFT_STOP_H
#define WEFT_STOP_H

#include <signal.h>

/* Set by SIGTERM/SIGINT; never cleared. */
extern volatile sig_atomic_t weft_stop_requested;

/* Installs the SIGTERM/SIGINT handlers that set weft_stop_requested; ignores SIGPIPE (a
 * closed peer shows up as a write error instead). Call once, in main. */
void weft_stop_install(void);

/* Sleeps up to ms, returning early (within 50 ms) once a stop was requested. */
void weft_stop_sleep_ms(int ms);

#endif

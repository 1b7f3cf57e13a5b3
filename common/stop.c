#include "stop.h"

#include "clock.h"

#include <string.h>

/* How soon a sleeping loop notices a stop request. */
#define STOP_POLL_MS 50

volatile sig_atomic_t weft_stop_requested = 0;

static void on_stop(int sig)
{
    (void)sig;
    weft_stop_requested = 1;
}

void weft_stop_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void weft_stop_sleep_ms(int ms)
{
    while (ms > 0 && !weft_stop_requested) {
        int step = ms < STOP_POLL_MS ? ms : STOP_POLL_MS;
        weft_clock_sleep_ms(step);
        ms -= step;
    }
}

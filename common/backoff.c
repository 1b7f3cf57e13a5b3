#include "backoff.h"

int weft_backoff_next(weft_backoff *b)
{
    int wait = b->next_ms;
    b->next_ms = wait > b->max_ms / 2 ? b->max_ms : wait * 2;
    return wait;
}

void weft_backoff_reset(weft_backoff *b)
{
    b->next_ms = WEFT_BACKOFF_START_MS;
}

bool weft_backoff_first(const weft_backoff *b)
{
    return b->next_ms == WEFT_BACKOFF_START_MS;
}

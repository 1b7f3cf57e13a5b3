/* The engine's one pure rule, the retry delay: exponential backoff from the policy, capped at
 * its max_delay_ms, plus 0..20% jitter that never goes below the policy's figure, and never
 * past the longest delay queue. The roles themselves are integration-tested. */
#include "engine.h"

#include "weft_limits.h"

#include <criterion/criterion.h>

static const weft_retry_policy policy = {
    .max_retries = 10, .initial_delay_ms = 1000, .backoff = 2, .max_delay_ms = 60000};

Test(engine, retry_delay_doubles_from_the_initial_delay_without_jitter)
{
    static const int expect[] = {1000, 2000, 4000, 8000, 16000, 32000};
    for (int r = 0; r < 6; r++)
        cr_assert_eq(weft_engine_retry_delay(&policy, r, 0.0), expect[r], "retries %d", r);
}

Test(engine, retry_delay_follows_the_policy_backoff_factor)
{
    weft_retry_policy p = {.initial_delay_ms = 100, .backoff = 3, .max_delay_ms = 60000};
    cr_assert_eq(weft_engine_retry_delay(&p, 2, 0.0), 900);
    p.backoff = 1;
    cr_assert_eq(weft_engine_retry_delay(&p, 7, 0.0), 100, "backoff 1 is a constant delay");
}

Test(engine, retry_delay_is_capped_at_max_delay_ms)
{
    cr_assert_eq(weft_engine_retry_delay(&policy, 6, 0.0), 60000, "64000 capped");
    cr_assert_eq(weft_engine_retry_delay(&policy, 1000, 0.0), 60000, "overflowing power capped");
}

Test(engine, jitter_adds_up_to_twenty_percent)
{
    cr_assert_eq(weft_engine_retry_delay(&policy, 0, 0.5), 1100);
    cr_assert_eq(weft_engine_retry_delay(&policy, 0, 1.0), 1200);
    cr_assert_eq(weft_engine_retry_delay(&policy, 10, 1.0), 72000, "jitter applies after the cap");
}

Test(engine, jitter_never_goes_below_the_policy_delay)
{
    for (int r = 0; r < 8; r++) {
        int base = weft_engine_retry_delay(&policy, r, 0.0);
        for (double j = 0.0; j < 1.0; j += 0.01) {
            int d = weft_engine_retry_delay(&policy, r, j);
            cr_assert(d >= base && d <= base * 1.2 + 1, "retries %d jitter %.2f: %d vs %d", r, j, d,
                      base);
        }
    }
}

Test(engine, retry_delay_rounds_up_to_a_whole_millisecond)
{
    weft_retry_policy p = {.initial_delay_ms = 10.2, .backoff = 1, .max_delay_ms = 100};
    cr_assert_eq(weft_engine_retry_delay(&p, 0, 0.0), 11);
}

Test(engine, zero_initial_delay_retries_at_once)
{
    weft_retry_policy p = {.initial_delay_ms = 0, .backoff = 2, .max_delay_ms = 1000};
    cr_assert_eq(weft_engine_retry_delay(&p, 3, 0.9), 0);
}

Test(engine, jitter_never_passes_the_longest_delay_queue)
{
    weft_retry_policy p = {.initial_delay_ms = WEFT_MAX_DELAY_LIMIT_MS,
                           .backoff = 2,
                           .max_delay_ms = WEFT_MAX_DELAY_LIMIT_MS};
    cr_assert_eq(weft_engine_retry_delay(&p, 0, 0.99), 3600000);
    p.initial_delay_ms = 3200000;
    cr_assert_eq(weft_engine_retry_delay(&p, 0, 0.0), 3200000);
    cr_assert_eq(weft_engine_retry_delay(&p, 0, 0.9), 3600000, "3840000 capped");
}

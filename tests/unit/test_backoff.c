/* Specification of the retry backoff: 100 ms, doubling, capped, started again by a reset. */
#include "backoff.h"

#include <criterion/criterion.h>

Test(backoff, starts_at_100_ms_and_doubles_up_to_the_cap)
{
    weft_backoff b = WEFT_BACKOFF_INIT(WEFT_BACKOFF_MAX_MS);
    const int expected[] = {100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        cr_expect_eq(weft_backoff_next(&b), expected[i], "wait %zu", i);
}

Test(backoff, a_lower_cap_is_reached_exactly)
{
    weft_backoff b = WEFT_BACKOFF_INIT(5000);
    const int expected[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        cr_expect_eq(weft_backoff_next(&b), expected[i], "wait %zu", i);
}

Test(backoff, reset_starts_the_series_again_and_first_tells_the_first_failure)
{
    weft_backoff b = WEFT_BACKOFF_INIT(WEFT_BACKOFF_MAX_MS);
    cr_expect(weft_backoff_first(&b));
    weft_backoff_next(&b);
    weft_backoff_next(&b);
    cr_expect_not(weft_backoff_first(&b));
    weft_backoff_reset(&b);
    cr_expect(weft_backoff_first(&b));
    cr_expect_eq(weft_backoff_next(&b), 100);
}

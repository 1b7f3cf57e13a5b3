/* The broker's pure rule, the delay bucket: a retry of d ms waits in the smallest delay queue
 * of at least d ms, 50 ms up to one hour; anything longer waits the hour. Connections,
 * confirms and dead-lettering are integration-tested. */
#include "broker.h"

#include "weft_limits.h"

#include <criterion/criterion.h>
#include <limits.h>

Test(broker, delay_goes_to_the_smallest_bucket_not_shorter_than_it)
{
    static const struct {
        int delay, bucket;
    } cases[] = {
        {1, 50},          {50, 50},           {51, 100},          {101, 200},     {250, 300},
        {1000, 1000},     {1001, 1500},       {2001, 3000},       {59999, 60000}, {60001, 90000},
        {180001, 300000}, {1800001, 3600000}, {3600000, 3600000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(weft_broker_delay_bucket(cases[i].delay), cases[i].bucket, "delay %d",
                     cases[i].delay);
}

Test(broker, zero_and_negative_delays_take_the_shortest_bucket)
{
    cr_assert_eq(weft_broker_delay_bucket(0), 50);
    cr_assert_eq(weft_broker_delay_bucket(-5), 50);
}

Test(broker, delays_beyond_an_hour_take_the_longest_bucket)
{
    cr_assert_eq(weft_broker_delay_bucket(3600001), 3600000);
    cr_assert_eq(weft_broker_delay_bucket(INT_MAX), 3600000);
}

Test(broker, longest_delay_a_policy_may_ask_for_has_its_own_bucket)
{
    int limit = (int)WEFT_MAX_DELAY_LIMIT_MS;
    cr_assert_eq(weft_broker_delay_bucket(limit), limit);
}

Test(broker, every_delay_up_to_an_hour_waits_at_least_as_long_and_under_twice_as_long)
{
    int prev = weft_broker_delay_bucket(50);
    for (int d = 51; d <= 3600000; d++) {
        int b = weft_broker_delay_bucket(d);
        cr_assert(b >= d && b < 2 * d, "delay %d went to bucket %d", d, b);
        /* smallest: the bucket only moves on just past the previous one */
        cr_assert(b == prev || prev == d - 1, "delay %d skipped bucket %d", d, prev);
        prev = b;
    }
}

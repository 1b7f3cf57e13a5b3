/* Rate limits as written (`weft limit set TASK --rate 10/s`) and the hop a waiting attempt
 * takes through the delay buckets (rate.h). */
#include "rate.h"

#include <criterion/criterion.h>
#include <string.h>

static double parsed(const char *text)
{
    double r = -1;
    weft_err err = {0};
    cr_assert_eq(weft_rate_parse(text, &r, &err), WEFT_OK, "%s: %s", text, err.msg);
    return r;
}

static void refused(const char *text, const char *needle)
{
    double r = -1;
    weft_err err = {0};
    cr_assert_eq(weft_rate_parse(text, &r, &err), WEFT_EINVAL, "%s was accepted", text);
    cr_assert(strstr(err.msg, needle), "%s: '%s' lacks '%s'", text, err.msg, needle);
    cr_assert_eq(r, -1, "nothing written on a refusal");
}

Test(rate, counts_per_second_minute_and_hour_become_starts_per_second)
{
    cr_expect_float_eq(parsed("10/s"), 10.0, 1e-12);
    cr_expect_float_eq(parsed("600/m"), 10.0, 1e-12);
    cr_expect_float_eq(parsed("3600/h"), 1.0, 1e-12);
    cr_expect_float_eq(parsed("0.5/s"), 0.5, 1e-12);
    cr_expect_float_eq(parsed("30/min"), 0.5, 1e-12);
    cr_expect_float_eq(parsed("1/HOUR"), 1.0 / 3600, 1e-12);
    cr_expect_float_eq(parsed("1000/s"), 1000.0, 1e-12);
}

Test(rate, malformed_rates_are_refused_with_what_is_wrong)
{
    refused("10", "must be COUNT/UNIT");
    refused("/s", "must be COUNT/UNIT");
    refused("", "must be COUNT/UNIT");
    refused("ten/s", "the count must be a positive number");
    refused("-1/s", "the count must be a positive number");
    refused("1e3/s", "the count must be a positive number");
    refused("1.2.3/s", "the count must be a positive number");
    refused("./s", "the count must be a positive number");
    refused(" 5/s", "the count must be a positive number");
    refused("10/d", "the unit must be s, m or h");
    refused("10/", "the unit must be s, m or h");
    refused("0/s", "must be from 1/86400 per second");
    refused("1001/s", "must be from 1/86400 per second");
    refused("1/86401s", "the unit must be s, m or h");
}

Test(rate, the_interval_is_the_spacing_between_starts)
{
    cr_expect_float_eq(weft_rate_interval_ms(10), 100.0, 1e-9);
    cr_expect_float_eq(weft_rate_interval_ms(0.5), 2000.0, 1e-9);
}

Test(rate, a_waiting_attempt_hops_to_the_longest_bucket_before_its_turn)
{
    static const int buckets[] = {50, 100, 200, 300, 500, 750, 1000, 1500};
    size_t n = sizeof buckets / sizeof buckets[0];
    cr_expect_eq(weft_rate_hop_ms(1100, buckets, n), 1000, "never past its turn");
    cr_expect_eq(weft_rate_hop_ms(100, buckets, n), 100, "a bucket that fits exactly");
    cr_expect_eq(weft_rate_hop_ms(20, buckets, n), 50, "below the smallest: the smallest");
    cr_expect_eq(weft_rate_hop_ms(99999, buckets, n), 1500, "beyond the largest: the largest");
}

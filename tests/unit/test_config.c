/* Specification of configuration helpers: URL redaction for messages. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>

static void expect_redacted(const char *url, const char *want)
{
    char *got = weft_redact_url(url);
    cr_expect_str_eq(got, want, "redact(%s)", url);
    free(got);
}

Test(config, redact_url_hides_the_password_and_keeps_the_user)
{
    expect_redacted("amqp://guest:guest@127.0.0.1:5672", "amqp://guest:***@127.0.0.1:5672");
    expect_redacted("https://me:s3cret@example.com/a/b", "https://me:***@example.com/a/b");
    expect_redacted("redis://:pw@[::1]:6379/2", "redis://:***@[::1]:6379/2");
}

Test(config, redact_url_keeps_path_query_and_fragment_even_with_at_signs)
{
    expect_redacted("http://u:p@host/path?to=a@b.c&x=1#f@g",
                    "http://u:***@host/path?to=a@b.c&x=1#f@g");
    expect_redacted("https://host/x?user=a:b@c", "https://host/x?user=a:b@c");
    expect_redacted("http://host:8080/?q=1", "http://host:8080/?q=1");
}

Test(config, redact_url_hides_a_password_with_a_raw_at_sign_whole)
{
    expect_redacted("http://u:p@ss@host/", "http://u:***@host/");
}

Test(config, redact_url_hides_a_lone_user_name_that_may_be_a_token)
{
    expect_redacted("https://ghp_token123@github.com/x.git", "https://***@github.com/x.git");
}

Test(config, redact_url_leaves_what_is_no_url_alone)
{
    expect_redacted("", "");
    expect_redacted("host=db user=weft password=x", "host=db user=weft password=x");
    expect_redacted("no scheme?next=http://u:p@h", "no scheme?next=http://u:p@h");
}

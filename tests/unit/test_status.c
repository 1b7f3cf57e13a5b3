/* The status type and its error context: every status has words, infrastructure failures are
 * told apart from bad input, and error messages keep their context within the 512-byte
 * buffer. */
#include "status.h"

#include <criterion/criterion.h>
#include <string.h>

static const weft_status all[] = {
    WEFT_OK,    WEFT_EINVAL, WEFT_ENOTFOUND, WEFT_ETOOBIG,  WEFT_ESTALE, WEFT_EDB,
    WEFT_EAMQP, WEFT_EREDIS, WEFT_EIO,       WEFT_ETIMEOUT, WEFT_EBUSY,  WEFT_ESHUTDOWN,
};
#define N_ALL (sizeof all / sizeof all[0])

Test(status, every_status_has_its_own_text)
{
    for (size_t i = 0; i < N_ALL; i++) {
        const char *s = weft_strerror(all[i]);
        cr_assert(s && *s, "status %d has no text", all[i]);
        cr_assert_str_neq(s, "unknown status", "status %d is not named", all[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(s, weft_strerror(all[j]), "statuses %d and %d read the same", all[i],
                              all[j]);
    }
    cr_assert_str_eq(weft_strerror(WEFT_OK), "ok");
    cr_assert_str_eq(weft_strerror(WEFT_EDB), "database failure");
}

Test(status, a_value_outside_the_enum_reads_unknown_not_null)
{
    cr_assert_str_eq(weft_strerror((weft_status)999), "unknown status");
}

Test(status, only_bad_input_is_poison_infrastructure_and_stale_are_not)
{
    static const weft_status poison[] = {WEFT_EINVAL, WEFT_ENOTFOUND, WEFT_ETOOBIG};
    static const weft_status not_poison[] = {WEFT_OK,       WEFT_ESTALE, WEFT_EDB,
                                             WEFT_EAMQP,    WEFT_EREDIS, WEFT_EIO,
                                             WEFT_ETIMEOUT, WEFT_EBUSY,  WEFT_ESHUTDOWN};
    for (size_t i = 0; i < sizeof poison / sizeof poison[0]; i++)
        cr_assert(weft_status_is_poison(poison[i]), "%s must go to weft.dead",
                  weft_strerror(poison[i]));
    for (size_t i = 0; i < sizeof not_poison / sizeof not_poison[0]; i++)
        cr_assert_not(weft_status_is_poison(not_poison[i]), "%s must not go to weft.dead",
                      weft_strerror(not_poison[i]));
}

Test(status, err_set_records_status_and_formatted_message_and_returns_the_status)
{
    weft_err err = {0};
    cr_assert_eq(weft_err_set(&err, WEFT_ENOTFOUND, "workflow '%s': %d missing", "w", 3),
                 WEFT_ENOTFOUND);
    cr_assert_eq(err.status, WEFT_ENOTFOUND);
    cr_assert_str_eq(err.msg, "workflow 'w': 3 missing");
}

Test(status, err_set_without_an_err_still_returns_the_status)
{
    cr_assert_eq(weft_err_set(NULL, WEFT_EAMQP, "broker %s", "down"), WEFT_EAMQP);
}

Test(status, err_set_truncates_a_long_message_to_the_buffer)
{
    char long_text[1000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    weft_err err = {0};
    weft_err_set(&err, WEFT_EINVAL, "%s", long_text);
    cr_assert_eq(strlen(err.msg), sizeof err.msg - 1);
}

Test(status, err_prefix_puts_context_before_the_message_and_keeps_the_status)
{
    weft_err err = {0};
    weft_err_set(&err, WEFT_EINVAL, "depends_on names unknown activity 'fetc'");
    cr_assert_eq(weft_err_prefix(&err, "activity '%s': ", "load"), WEFT_EINVAL);
    cr_assert_eq(weft_err_prefix(&err, "workflow '%s': ", "etl"), WEFT_EINVAL);
    cr_assert_str_eq(err.msg,
                     "workflow 'etl': activity 'load': depends_on names unknown activity 'fetc'");
    cr_assert_eq(err.status, WEFT_EINVAL);
}

Test(status, err_prefix_keeps_the_context_and_cuts_the_end_when_the_buffer_is_full)
{
    char long_text[sizeof(((weft_err *)0)->msg)];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    weft_err err = {0};
    weft_err_set(&err, WEFT_ETOOBIG, "%s", long_text);
    weft_err_prefix(&err, "context: ");
    cr_assert_eq(strlen(err.msg), sizeof err.msg - 1);
    cr_assert_eq(strncmp(err.msg, "context: xxx", 12), 0, "%.20s", err.msg);
    cr_assert_eq(err.msg[sizeof err.msg - 2], 'x');
}

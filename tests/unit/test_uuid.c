/* Random UUIDs: version 4 in the 8-4-4-4-12 text form, distinct, and a validator that accepts
 * exactly that form. */
#include "uuid.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

Test(uuid, new_uuid_is_36_lowercase_hex_characters_with_dashes_at_8_13_18_23)
{
    char u[WEFT_UUID_LEN + 1];
    weft_uuid_new(u);
    cr_assert_eq(strlen(u), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            cr_assert_eq(u[i], '-', "%s: position %d", u, i);
        else
            cr_assert(strchr("0123456789abcdef", u[i]), "%s: position %d", u, i);
    }
    cr_assert(weft_uuid_valid(u), "%s", u);
}

Test(uuid, new_uuid_has_version_4_and_the_rfc_4122_variant)
{
    for (int n = 0; n < 1000; n++) {
        char u[WEFT_UUID_LEN + 1];
        weft_uuid_new(u);
        cr_assert_eq(u[14], '4', "%s: version", u);
        cr_assert(strchr("89ab", u[19]), "%s: variant", u);
    }
}

Test(uuid, ten_thousand_new_uuids_are_all_distinct)
{
    enum { N = 10000 };
    char(*u)[WEFT_UUID_LEN + 1] = malloc(N * sizeof *u);
    cr_assert_not_null(u);
    for (int i = 0; i < N; i++)
        weft_uuid_new(u[i]);
    qsort(u, N, sizeof *u, cmp_str);
    for (int i = 1; i < N; i++)
        cr_assert_str_neq(u[i - 1], u[i], "duplicate %s", u[i]);
    free(u);
}

Test(uuid, valid_accepts_any_version_in_either_case)
{
    cr_assert(weft_uuid_valid("6f1c2a4e-9a43-4c1b-8f0e-1d2c3b4a5f60"));
    cr_assert(weft_uuid_valid("6F1C2A4E-9A43-4C1B-8F0E-1D2C3B4A5F60"));
    cr_assert(weft_uuid_valid("00000000-0000-1000-0000-000000000000"), "version 1, no variant");
}

Test(uuid, valid_rejects_anything_but_the_8_4_4_4_12_form)
{
    static const char *const bad[] = {
        "",
        "6f1c2a4e-9a43-4c1b-8f0e-1d2c3b4a5f6",   /* 35 characters */
        "6f1c2a4e-9a43-4c1b-8f0e-1d2c3b4a5f600", /* 37 */
        "6f1c2a4e9a43-4c1b-8f0e-1d2c3b4a5f60a",  /* dash moved */
        "6f1c2a4e-9a43-4c1b-8f0e_1d2c3b4a5f60",  /* not a dash */
        "6f1c2a4g-9a43-4c1b-8f0e-1d2c3b4a5f60",  /* not hex */
        "{6f1c2a4e-9a43-4c1b-8f0e-1d2c3b4a5f6}", /* braces */
        "6f1c2a4e9a434c1b8f0e1d2c3b4a5f60",      /* no dashes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(weft_uuid_valid(bad[i]), "'%s' accepted", bad[i]);
    cr_assert_not(weft_uuid_valid(NULL));
}

Test(uuid, random_bytes_fill_exactly_n_bytes)
{
    /* each 8-byte block staying zero by chance: 2^-64 */
    unsigned char b[65] = {0};
    weft_random_bytes(b, 64);
    for (int block = 0; block < 8; block++) {
        unsigned char any = 0;
        for (int i = 0; i < 8; i++)
            any |= b[block * 8 + i];
        cr_assert_neq(any, 0, "bytes %d..%d left unwritten", block * 8, block * 8 + 7);
    }
    cr_assert_eq(b[64], 0, "wrote past n bytes");
}

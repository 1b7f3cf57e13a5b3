/* strbuf: text appended in pieces, always NUL-terminated. */
#include "strbuf.h"

#include <criterion/criterion.h>
#include <string.h>

Test(strbuf, pieces_grow_one_string)
{
    weft_strbuf b = {0};
    weft_strbuf_put(&b, "ab", 2);
    for (int i = 0; i < 1000; i++)
        weft_strbuf_add(&b, "%d,", i % 10);
    cr_assert_eq(b.len, 2 + 2000);
    cr_assert_eq(strlen(b.s), b.len);
    cr_assert(strncmp(b.s, "ab0,1,2,", 8) == 0);
    weft_strbuf_finish(&b);
    cr_assert_null(b.s);
    cr_assert_eq(b.len, 0);
}

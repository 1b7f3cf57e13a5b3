/* A workflow's progress: X counts terminal activities of every kind, the stage names only
 * running ones, in definition order, and the text form is cut safely in a small buffer. */
#include "progress.h"

#include <criterion/criterion.h>
#include <string.h>

static json_t *acts(const char *text)
{
    json_error_t e;
    json_t *a = json_loads(text, 0, &e);
    cr_assert(a, "bad fixture: %s", e.text);
    return a;
}

Test(progress, counts_terminal_activities_and_names_the_running_ones)
{
    json_t *a = acts("[{\"name\":\"fetch\",\"status\":\"completed\"},"
                     "{\"name\":\"resize\",\"status\":\"running\"},"
                     "{\"name\":\"thumb\",\"status\":\"retrying\"},"
                     "{\"name\":\"bad\",\"status\":\"failed\"},"
                     "{\"name\":\"skipped\",\"status\":\"canceled\"},"
                     "{\"name\":\"filters\",\"status\":\"running\"},"
                     "{\"name\":\"later\",\"status\":\"pending\"},"
                     "{\"name\":\"next\",\"status\":\"queued\"}]");
    json_t *s = weft_progress_summary(a);
    cr_assert_eq(json_integer_value(json_object_get(s, "done")), 3);
    cr_assert_eq(json_integer_value(json_object_get(s, "total")), 8);
    json_t *stage = json_object_get(s, "stage");
    cr_assert_eq(json_array_size(stage), 2);
    cr_assert_str_eq(json_string_value(json_array_get(stage, 0)), "resize");
    cr_assert_str_eq(json_string_value(json_array_get(stage, 1)), "filters");
    char buf[128];
    cr_assert_str_eq(weft_progress_format(s, buf, sizeof buf), "3/8 (stage: resize, filters)");
    json_decref(s);
    json_decref(a);
}

Test(progress, nothing_running_has_an_empty_stage_and_no_stage_text)
{
    json_t *a = acts("[{\"name\":\"a\",\"status\":\"completed\"},{\"name\":\"b\","
                     "\"status\":\"completed\"}]");
    json_t *s = weft_progress_summary(a);
    char buf[64];
    cr_assert_str_eq(weft_progress_format(s, buf, sizeof buf), "2/2");
    cr_assert_eq(json_array_size(json_object_get(s, "stage")), 0);
    json_decref(s);
    json_decref(a);
}

Test(progress, an_unknown_status_counts_in_the_total_only)
{
    json_t *a = acts("[{\"name\":\"a\",\"status\":\"exploded\"},{\"name\":\"b\"}]");
    json_t *s = weft_progress_summary(a);
    cr_assert_eq(json_integer_value(json_object_get(s, "done")), 0);
    cr_assert_eq(json_integer_value(json_object_get(s, "total")), 2);
    json_decref(s);
    json_decref(a);
    s = weft_progress_summary(NULL);
    cr_assert_eq(json_integer_value(json_object_get(s, "total")), 0);
    json_decref(s);
}

Test(progress, a_small_buffer_is_cut_and_terminated)
{
    json_t *a = acts("[{\"name\":\"a_rather_long_activity_name\",\"status\":\"running\"}]");
    json_t *s = weft_progress_summary(a);
    char buf[12];
    memset(buf, 'x', sizeof buf);
    weft_progress_format(s, buf, sizeof buf);
    cr_assert_eq(strlen(buf), sizeof buf - 1);
    cr_assert_eq(strncmp(buf, "0/1 (stage:", 11), 0);
    json_decref(s);
    json_decref(a);
}

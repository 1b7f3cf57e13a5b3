/* Task plugins: the example plugin, built against <weft/task.h> alone, loads and its task
 * runs; a file that cannot be loaded, one without weft_plugin_init and one whose init
 * refuses are each a clear error naming the file. */
#include "plugin.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *plugin_path(const char *name)
{
    const char *dir = getenv("WEFT_TEST_PLUGIN_DIR");
    cr_assert(dir && *dir, "WEFT_TEST_PLUGIN_DIR must name the built example plugins");
    char *p = NULL;
    cr_assert(asprintf(&p, "%s/lib%s_plugin.so", dir, name) > 0);
    return p;
}

Test(plugin, the_example_plugin_registers_a_task_that_runs)
{
    weft_task_registry *r = weft_task_registry_create();
    char *path = plugin_path("checksum");
    weft_err err = {0};
    cr_assert_eq(weft_plugin_load(path, r, &err), WEFT_OK, "%s", err.msg);
    weft_task_fn fn = weft_task_lookup(r, "checksum");
    cr_assert_not_null(fn, "the plugin registered no 'checksum' task");
    json_t *input = json_pack("{s:s}", "content", "The quick brown fox jumps over the lazy dog");
    weft_task_ctx ctx = {.activity_name = "sum", .attempt = 1, .input = input};
    json_t *out = NULL;
    char why[256] = "";
    cr_assert_eq(fn(&ctx, &out, why, sizeof why), WEFT_TASK_OK, "%s", why);
    /* the well-known CRC-32 of that sentence */
    cr_expect_str_eq(json_string_value(json_object_get(out, "crc32")), "414fa339");
    cr_expect_eq(json_integer_value(json_object_get(out, "bytes")), 43);
    json_decref(out);
    json_decref(input);
    input = json_pack("{s:i}", "content", 5);
    ctx.input = input;
    cr_expect_eq(fn(&ctx, &out, why, sizeof why), WEFT_TASK_PERMANENT);
    cr_expect(strstr(why, "'content' must be a string"), "%s", why);
    json_decref(input);
    free(path);
    weft_task_registry_destroy(r);
}

Test(plugin, a_missing_file_is_an_error_naming_it_and_the_loader)
{
    weft_task_registry *r = weft_task_registry_create();
    weft_err err = {0};
    cr_assert_eq(weft_plugin_load("/nonexistent/weft/none.so", r, &err), WEFT_EINVAL);
    cr_expect(strstr(err.msg, "plugin '/nonexistent/weft/none.so' cannot be loaded"), "%s",
              err.msg);
    cr_expect(strstr(err.msg, "No such file"), "no dlerror() in: %s", err.msg);
    weft_task_registry_destroy(r);
}

Test(plugin, a_shared_object_without_the_init_is_refused)
{
    weft_task_registry *r = weft_task_registry_create();
    weft_err err = {0};
    cr_assert_eq(weft_plugin_load("libm.so.6", r, &err), WEFT_EINVAL);
    cr_expect(strstr(err.msg, "exports no weft_plugin_init"), "%s", err.msg);
    weft_task_registry_destroy(r);
}

Test(plugin, a_plugin_whose_init_refuses_is_refused)
{
    weft_task_registry *r = weft_task_registry_create();
    char *path = plugin_path("refusing");
    weft_err err = {0};
    cr_assert_eq(weft_plugin_load(path, r, &err), WEFT_EINVAL);
    cr_expect(strstr(err.msg, "refused to load"), "%s", err.msg);
    free(path);
    weft_task_registry_destroy(r);
}

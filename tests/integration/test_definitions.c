/* Named definitions (DESIGN §11): `weft define` stores a file under its name as versions
 * 1, 2, ... (the same file again stores nothing), `weft definitions` lists them, and a
 * create by name (`weft submit --definition`, or the entry message) runs the latest or the
 * named version; an invalid file stores nothing, and an unknown name is refused by the CLI
 * and dead-lettered by the entry. */
#include "alloc.h"
#include "harness.h"
#include "message.h"
#include "uuid.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static harness_procs procs;
static void up(void)
{
    harness_start(&procs, 2);
}
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(definitions, .init = up, .fini = down, .timeout = 120);

/* A name of this run's own, so earlier runs' versions do not count. */
static char name[40];
static void new_name(void)
{
    char uid[WEFT_UUID_LEN + 1];
    weft_uuid_new(uid);
    snprintf(name, sizeof name, "defs_%.8s", uid);
}

/* Writes a one-activity definition whose noop echoes v; returns its path (new string). */
static char *definition_file(int v)
{
    char text[256];
    snprintf(text, sizeof text,
             "{\"name\": \"%s\", \"activities\": [{\"name\": \"echo\", \"task\": \"noop\","
             " \"params\": {\"v\": %d}}]}",
             name, v);
    return harness_write_temp(text);
}

static int weft(const char *args, char **out)
{
    char *cmd = weft_xasprintf("'%s' %s 2>&1", getenv("WEFT_BIN_WEFT"), args);
    int rc = harness_run(cmd, out);
    free(cmd);
    return rc;
}

/* `weft define PATH`: asserts it exits 0 and prints NAME VERSION as its last line. */
static int define(const char *path)
{
    char *args = weft_xasprintf("define '%s'", path), *out = NULL;
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    char *last = strrchr(out, '\n');
    while (last && last > out && last[1] == '\0') {
        *last = '\0';
        last = strrchr(out, '\n');
    }
    const char *line = last ? last + 1 : out;
    char got[64];
    int version = 0;
    cr_assert_eq(sscanf(line, "%63s %d", got, &version), 2, "NAME VERSION: %s", out);
    cr_assert_str_eq(got, name);
    free(out);
    free(args);
    return version;
}

/* Submits by name (version 0: the latest) and returns the output's echo.v. */
static int run_by_name(int version)
{
    char *args = version ? weft_xasprintf("submit --definition %s --version %d --wait --timeout 30",
                                          name, version)
                         : weft_xasprintf("submit --definition %s --wait --timeout 30", name);
    char *out = NULL;
    cr_assert_eq(weft(args, &out), 0, "%s", out);
    json_t *doc = json_loads(strchr(out, '{'), JSON_DISABLE_EOF_CHECK, NULL);
    cr_assert(doc, "the output: %s", out);
    int v = (int)json_integer_value(json_object_get(json_object_get(doc, "echo"), "v"));
    json_decref(doc);
    free(out);
    free(args);
    return v;
}

Test(definitions, define_stores_versions_and_a_create_by_name_runs_the_latest_or_the_named_one)
{
    new_name();
    char *one = definition_file(1), *two = definition_file(2);
    cr_assert_eq(define(one), 1);
    cr_assert_eq(define(one), 1, "the same file again stores nothing");
    cr_assert_eq(define(two), 2);
    cr_assert_eq(run_by_name(0), 2, "the latest version");
    cr_assert_eq(run_by_name(1), 1, "the named version");
    char *out = NULL;
    cr_assert_eq(weft("definitions --json", &out), 0, "%s", out);
    json_t *list = json_loads(out, 0, NULL);
    cr_assert(json_is_array(list), "%s", out);
    size_t i;
    json_t *d, *ours = NULL;
    json_array_foreach(list, i, d) if (!strcmp(json_string_value(json_object_get(d, "name")), name))
        ours = d;
    cr_assert(ours, "listed: %s", out);
    cr_assert_eq(json_integer_value(json_object_get(ours, "latest_version")), 2);
    cr_assert_eq(json_integer_value(json_object_get(ours, "versions")), 2);
    json_decref(list);
    free(out);
    cr_assert_eq(weft("definitions", &out), 0);
    cr_assert(strstr(out, name), "the table lists it: %s", out);
    free(out);
    unlink(one);
    unlink(two);
    free(one);
    free(two);
}

Test(definitions, an_invalid_file_stores_nothing_and_unknown_names_are_refused)
{
    new_name();
    char text[256];
    snprintf(text, sizeof text,
             "{\"name\": \"%s\", \"activities\": [{\"name\": \"a\", \"task\": \"noop\","
             " \"depends_on\": [\"b\"]}]}",
             name);
    char *bad = harness_write_temp(text), *args = weft_xasprintf("define '%s'", bad), *out = NULL;
    cr_assert_eq(weft(args, &out), 3, "%s", out);
    cr_assert(strstr(out, "invalid definition: activity 'a': depends_on names unknown activity 'b'"),
              "%s", out);
    free(out);
    free(args);
    cr_assert_eq(weft("definitions --json", &out), 0);
    cr_assert_null(strstr(out, name), "nothing stored: %s", out);
    free(out);
    args = weft_xasprintf("submit --definition %s", name);
    cr_assert_eq(weft(args, &out), 3, "%s", out);
    cr_assert(strstr(out, "unknown definition"), "%s", out);
    free(out);
    free(args);
    char *good = definition_file(5);
    cr_assert_eq(define(good), 1);
    args = weft_xasprintf("submit --definition %s --version 9", name);
    cr_assert_eq(weft(args, &out), 3, "%s", out);
    cr_assert(strstr(out, "has no version 9"), "%s", out);
    free(out);
    free(args);
    /* the entry message by name: an unknown one goes to weft.dead with the reason */
    char uid[WEFT_UUID_LEN + 1];
    weft_uuid_new(uid);
    json_t *inputs = json_object();
    size_t len;
    char *body = weft_msg_encode_named("no_such_definition_here", 0, inputs, uid, &len);
    json_decref(inputs);
    harness_publish("workflow_entry", body);
    free(body);
    char *reason = harness_dead_find(uid, 20);
    cr_assert(reason, "the create by an unknown name reached weft.dead");
    cr_assert(strstr(reason, "unknown definition 'no_such_definition_here'"), "%s", reason);
    free(reason);
    unlink(bad);
    unlink(good);
    free(bad);
    free(good);
}

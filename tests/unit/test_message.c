/* The message codec: known fields strict, unknown fields ignored (rolling upgrades), size
 * limit, round trips. */
#include "message.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define WF "6f1c2a4e-9a43-4c1b-8f0e-1d2c3b4a5f60"
#define ACT "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static weft_status attempt(const char *body, weft_attempt_msg *m, weft_err *err)
{
    return weft_msg_decode_attempt(body, strlen(body), 1024, m, err);
}

Test(message, attempt_round_trips)
{
    weft_attempt_msg in = {WF, ACT, 7}, out;
    size_t len;
    char *body = weft_msg_encode_attempt(&in, &len);
    weft_err err = {0};
    cr_assert_eq(weft_msg_decode_attempt(body, len, 1024, &out, &err), WEFT_OK, "%s", err.msg);
    cr_assert_str_eq(out.workflow_uid, WF);
    cr_assert_str_eq(out.activity_uid, ACT);
    cr_assert_eq(out.attempt, 7);
    free(body);
}

Test(message, attempt_rejects_bad_shapes_with_the_field_named)
{
    static const struct {
        const char *body, *expect;
    } cases[] = {
        {"{", "not valid JSON: line 1"},
        {"[]", "must be a JSON object"},
        {"{\"workflow_uid\":\"" WF "\",\"activity_uid\":\"" ACT "\"}", "'attempt'"},
        {"{\"workflow_uid\":\"" WF "\",\"activity_uid\":\"" ACT "\",\"attempt\":0}", "'attempt'"},
        {"{\"workflow_uid\":\"" WF "\",\"activity_uid\":\"" ACT "\",\"attempt\":\"1\"}",
         "'attempt'"},
        {"{\"workflow_uid\":\"nope\",\"activity_uid\":\"" ACT "\",\"attempt\":1}",
         "'workflow_uid' must be a UUID"},
        {"{\"activity_uid\":\"" ACT "\",\"attempt\":1}", "lacks field 'workflow_uid'"},
        {"{\"workflow_uid\":\"" WF "\",\"workflow_uid\":\"" WF "\"}", "duplicate"},
        {"\xff\xfe", "not valid JSON"},
        /* an unknown field excuses no known one */
        {"{\"workflow_uid\":\"" WF "\",\"activity_uid\":\"" ACT "\",\"attempt\":\"2\",\"x\":1}",
         "'attempt'"},
        {"{\"activity_uid\":\"" ACT "\",\"attempt\":1,\"workflow\":\"" WF "\"}",
         "lacks field 'workflow_uid'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weft_attempt_msg m;
        weft_err err = {0};
        cr_assert_eq(attempt(cases[i].body, &m, &err), WEFT_EINVAL, "case %zu accepted", i);
        cr_assert(strstr(err.msg, cases[i].expect), "case %zu: '%s' lacks '%s'", i, err.msg,
                  cases[i].expect);
    }
}

Test(message, attempt_with_fields_from_a_newer_version_decodes)
{
    const char *body = "{\"workflow_uid\":\"" WF "\",\"activity_uid\":\"" ACT "\",\"attempt\":2,"
                       "\"trace_id\":\"abc\",\"hints\":{\"k\":[1,2]}}";
    weft_attempt_msg m;
    weft_err err = {0};
    cr_assert_eq(attempt(body, &m, &err), WEFT_OK, "%s", err.msg);
    cr_assert_str_eq(m.workflow_uid, WF);
    cr_assert_str_eq(m.activity_uid, ACT);
    cr_assert_eq(m.attempt, 2);
}

Test(message, entry_with_fields_from_a_newer_version_decodes_but_known_fields_stay_strict)
{
    weft_entry_msg m;
    weft_err err = {0};
    const char *create = "{\"config\":{\"name\":\"x\"},\"inputs\":{\"a\":1},\"priority\":3}";
    cr_assert_eq(weft_msg_decode_entry(create, strlen(create), 1024, &m, &err), WEFT_OK, "%s",
                 err.msg);
    cr_assert_str_eq(json_string_value(json_object_get(m.config, "name")), "x");
    cr_assert_eq(json_integer_value(json_object_get(m.inputs, "a")), 1);
    weft_entry_msg_finish(&m);

    const char *resume = "{\"workflow_uid\":\"" WF "\",\"reason\":\"operator\"}";
    cr_assert_eq(weft_msg_decode_entry(resume, strlen(resume), 1024, &m, &err), WEFT_OK, "%s",
                 err.msg);
    cr_assert(!m.config && m.has_uid);
    weft_entry_msg_finish(&m);

    const char *bad_known = "{\"config\":{},\"inputs\":\"a\",\"priority\":3}";
    cr_assert_eq(weft_msg_decode_entry(bad_known, strlen(bad_known), 1024, &m, &err), WEFT_EINVAL);
    cr_assert(strstr(err.msg, "'inputs' must be an object"), "%s", err.msg);
}

Test(message, over_the_size_limit_is_too_big)
{
    char body[2048];
    memset(body, ' ', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    weft_attempt_msg m;
    weft_err err = {0};
    cr_assert_eq(weft_msg_decode_attempt(body, strlen(body), 1024, &m, &err), WEFT_ETOOBIG);
    cr_assert(strstr(err.msg, "1024-byte limit"), "%s", err.msg);
}

Test(message, deep_nesting_is_rejected_not_a_crash)
{
    size_t depth = 10000;
    char *body = malloc(depth * 2 + 1);
    memset(body, '[', depth);
    memset(body + depth, ']', depth);
    body[depth * 2] = '\0';
    weft_entry_msg m;
    weft_err err = {0};
    cr_assert_eq(weft_msg_decode_entry(body, depth * 2, 1 << 20, &m, &err), WEFT_EINVAL);
    free(body);
}

Test(message, entry_create_and_resume_forms)
{
    weft_entry_msg m;
    weft_err err = {0};
    const char *create = "{\"config\":{\"name\":\"x\"},\"inputs\":{\"a\":1}}";
    cr_assert_eq(weft_msg_decode_entry(create, strlen(create), 1024, &m, &err), WEFT_OK);
    cr_assert(m.config && !m.has_uid);
    cr_assert_eq(json_integer_value(json_object_get(m.inputs, "a")), 1);
    weft_entry_msg_finish(&m);

    const char *resume = "{\"workflow_uid\":\"" WF "\"}";
    cr_assert_eq(weft_msg_decode_entry(resume, strlen(resume), 1024, &m, &err), WEFT_OK);
    cr_assert(!m.config && m.has_uid);
    cr_assert_str_eq(m.workflow_uid, WF);
    weft_entry_msg_finish(&m);

    const char *neither = "{}";
    cr_assert_eq(weft_msg_decode_entry(neither, 2, 1024, &m, &err), WEFT_EINVAL);
    cr_assert(strstr(err.msg, "needs 'config'"), "%s", err.msg);
    const char *bad_inputs = "{\"config\":{},\"inputs\":[1]}";
    cr_assert_eq(weft_msg_decode_entry(bad_inputs, strlen(bad_inputs), 1024, &m, &err),
                 WEFT_EINVAL);
    cr_assert(strstr(err.msg, "'inputs' must be an object"), "%s", err.msg);
}

Test(message, entry_encoding_round_trips_with_uid)
{
    json_t *config = json_pack("{s:s}", "name", "w");
    json_t *inputs = json_pack("{s:i}", "n", 3);
    size_t len;
    char *body = weft_msg_encode_entry(config, inputs, WF, &len);
    weft_entry_msg m;
    weft_err err = {0};
    cr_assert_eq(weft_msg_decode_entry(body, len, 1024, &m, &err), WEFT_OK, "%s", err.msg);
    cr_assert(m.has_uid);
    cr_assert_str_eq(m.workflow_uid, WF);
    cr_assert(json_equal(m.config, config));
    weft_entry_msg_finish(&m);
    free(body);
    json_decref(config);
    json_decref(inputs);
}

Test(message, entry_cancel_form_with_and_without_a_reason)
{
    weft_entry_msg m;
    weft_err err = {0};
    size_t len;
    char *body = weft_msg_encode_cancel(WF, "customer left", &len);
    cr_assert_eq(weft_msg_decode_entry(body, len, 1024, &m, &err), WEFT_OK, "%s", err.msg);
    cr_assert(m.cancel && !m.config && m.has_uid);
    cr_assert_str_eq(m.workflow_uid, WF);
    cr_assert_str_eq(m.cancel_reason, "customer left");
    weft_entry_msg_finish(&m);
    free(body);

    const char *bare = "{\"workflow_uid\":\"" WF "\",\"cancel\":{}}";
    cr_assert_eq(weft_msg_decode_entry(bare, strlen(bare), 1024, &m, &err), WEFT_OK, "%s", err.msg);
    cr_assert_str_eq(m.cancel_reason, "no reason given");
    weft_entry_msg_finish(&m);
}

Test(message, entry_cancel_rejects_bad_shapes_with_the_field_named)
{
    static const struct {
        const char *body, *error;
    } bad[] = {
        {"{\"cancel\":{}}", "message needs 'config' or 'definition' (create) or 'workflow_uid'"},
        {"{\"workflow_uid\":\"" WF "\",\"cancel\":true}",
         "message field 'cancel' must be an object"},
        {"{\"workflow_uid\":\"" WF "\",\"cancel\":{\"reason\":5}}",
         "message field 'cancel.reason' must be a string"},
        {"{\"workflow_uid\":\"" WF "\",\"cancel\":{\"why\":\"x\"}}",
         "message field 'cancel': unknown field 'why'"},
        {"{\"workflow_uid\":\"" WF "\",\"cancel\":{\"reason\":\"a\\u0000b\"}}",
         "\\u0000 is not allowed"}, /* the parser refuses NUL anywhere */
        {"{\"config\":{\"name\":\"x\"},\"cancel\":{}}",
         "message creates a workflow ('config' or 'definition') and has 'cancel': send one"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weft_entry_msg m;
        weft_err err = {0};
        cr_assert_eq(weft_msg_decode_entry(bad[i].body, strlen(bad[i].body), 1024, &m, &err),
                     WEFT_EINVAL, "%s", bad[i].body);
        cr_assert(strstr(err.msg, bad[i].error), "%s: got '%s'", bad[i].body, err.msg);
    }
    char *longer = malloc(WEFT_CANCEL_REASON_MAX + 200);
    int n = snprintf(longer, 200, "{\"workflow_uid\":\"" WF "\",\"cancel\":{\"reason\":\"");
    memset(longer + n, 'r', WEFT_CANCEL_REASON_MAX + 1);
    strcpy(longer + n + WEFT_CANCEL_REASON_MAX + 1, "\"}}");
    weft_entry_msg m;
    weft_err err = {0};
    cr_assert_eq(weft_msg_decode_entry(longer, strlen(longer), 1 << 20, &m, &err), WEFT_EINVAL);
    cr_assert(strstr(err.msg, "'cancel.reason' is longer than 1000 bytes"), "%s", err.msg);
    free(longer);
}

Test(message, entry_create_by_name_with_and_without_a_version)
{
    weft_entry_msg m;
    weft_err err = {0};
    json_t *inputs = json_pack("{s:i}", "n", 1);
    size_t len;
    char *body = weft_msg_encode_named("image_pipeline", 3, inputs, WF, &len);
    cr_assert_eq(weft_msg_decode_entry(body, len, 1024, &m, &err), WEFT_OK, "%s", err.msg);
    cr_assert_str_eq(m.definition_name, "image_pipeline");
    cr_assert_eq(m.definition_version, 3);
    cr_assert_null(m.config);
    cr_assert_eq(json_integer_value(json_object_get(m.inputs, "n")), 1);
    weft_entry_msg_finish(&m);
    free(body);
    body = weft_msg_encode_named("image_pipeline", 0, inputs, NULL, &len);
    cr_assert_eq(weft_msg_decode_entry(body, len, 1024, &m, &err), WEFT_OK, "%s", err.msg);
    cr_assert_eq(m.definition_version, 0, "the latest");
    cr_assert_not(m.has_uid);
    weft_entry_msg_finish(&m);
    free(body);
    json_decref(inputs);
    static const struct {
        const char *body, *error;
    } bad[] = {
        {"{\"definition\":\"a b\"}", "must be a definition's name"},
        {"{\"definition\":7}", "must be a definition's name"},
        {"{\"definition\":\"x\",\"version\":0}", "'version' must be a whole number >= 1"},
        {"{\"definition\":\"x\",\"version\":\"2\"}", "'version' must be a whole number >= 1"},
        {"{\"version\":2,\"workflow_uid\":\"" WF "\"}", "'version' but no 'definition'"},
        {"{\"definition\":\"x\",\"config\":{\"name\":\"x\"}}", "both 'config' and 'definition'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(weft_msg_decode_entry(bad[i].body, strlen(bad[i].body), 1024, &m, &err),
                     WEFT_EINVAL, "%s", bad[i].body);
        cr_assert(strstr(err.msg, bad[i].error), "%s: got '%s'", bad[i].body, err.msg);
    }
}

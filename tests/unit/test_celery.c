/* Celery's task protocol v2 on workflow_entry: the seed's call of
 * workflow.schedule_workflow_entry, by name or by position, becomes weft's create or resume
 * message; every other shape is refused with an error naming what is wrong. */
#include "celery.h"
#include "message.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define TASK WEFT_CELERY_ENTRY_TASK
#define TASK_ID "0b7e3a52-6f2d-4c8e-9a41-3d5f6e7a8b9c"
#define WF "6f1c2a4e-9a43-4c1b-8f0e-1d2c3b4a5f60"
#define EMBED "{\"callbacks\":null,\"errbacks\":null,\"chain\":null,\"chord\":null}"

/* Translates body and decodes the result as the entry consumer will. */
static weft_entry_msg translate(const char *task_id, const char *body)
{
    char *entry;
    size_t len;
    weft_err err = {0};
    cr_assert_eq(weft_celery_entry(TASK, task_id, body, strlen(body), &entry, &len, &err),
                 WEFT_OK, "%s: %s", body, err.msg);
    weft_entry_msg m;
    cr_assert_eq(weft_msg_decode_entry(entry, len, 1 << 20, &m, &err), WEFT_OK, "%s", err.msg);
    free(entry);
    return m;
}

static void refused(const char *task, const char *body, const char *needle)
{
    char *entry = (char *)1;
    size_t len;
    weft_err err = {0};
    cr_assert_eq(weft_celery_entry(task, TASK_ID, body, strlen(body), &entry, &len, &err),
                 WEFT_EINVAL, "%s", body);
    cr_assert_null(entry);
    cr_assert(strstr(err.msg, needle), "%s: '%s' lacks '%s'", body, err.msg, needle);
}

Test(celery, a_create_by_keywords_takes_the_task_id_as_the_workflow_uid)
{
    weft_entry_msg m = translate(TASK_ID, "[[], {\"config\": {\"name\": \"w\", \"activities\": []},"
                                          " \"initial_inputs\": {\"url\": \"u\"}}, " EMBED "]");
    cr_assert(m.config && m.has_uid);
    cr_assert_str_eq(m.workflow_uid, TASK_ID);
    cr_assert_str_eq(json_string_value(json_object_get(m.config, "name")), "w");
    cr_assert_str_eq(json_string_value(json_object_get(m.inputs, "url")), "u");
    weft_entry_msg_finish(&m);
}

Test(celery, config_format_json_takes_a_string_and_positional_arguments_work)
{
    weft_entry_msg m =
        translate("not-a-uuid", "[[null, \"{\\\"name\\\": \\\"j\\\", \\\"activities\\\": []}\", "
                                "\"json\"], {}, " EMBED "]");
    cr_assert(m.config);
    cr_assert_not(m.has_uid, "a task id that is no UUID: the entry derives one");
    cr_assert_str_eq(json_string_value(json_object_get(m.config, "name")), "j");
    cr_assert_eq(json_object_size(m.inputs), 0);
    weft_entry_msg_finish(&m);
}

Test(celery, workflow_uid_alone_is_a_resume_and_with_config_a_create_under_that_uid)
{
    weft_entry_msg m = translate(TASK_ID, "[[], {\"workflow_uid\": \"" WF "\"}, " EMBED "]");
    cr_assert_null(m.config);
    cr_assert_str_eq(m.workflow_uid, WF);
    weft_entry_msg_finish(&m);
    m = translate(TASK_ID, "[[], {\"workflow_uid\": \"" WF "\", \"config\": {\"name\": \"c\"},"
                           " \"config_format\": \"dict\", \"initial_inputs\": null}, " EMBED "]");
    cr_assert(m.config);
    cr_assert_str_eq(m.workflow_uid, WF);
    weft_entry_msg_finish(&m);
}

Test(celery, every_other_shape_is_refused_with_what_is_wrong)
{
    refused("workflow.other", "[[], {}, {}]",
            "Celery task 'workflow.other' is not served on workflow_entry");
    refused(TASK, "\x80\x04pickle", "serializer='json'");
    refused(TASK, "{\"task\": \"x\", \"args\": [], \"kwargs\": {}}", "task protocol v1");
    refused(TASK, "[[], {}]", "[args, kwargs, embed]");
    refused(TASK, "[{}, {}, {}]", "args an array");
    refused(TASK, "[[], {\"config\": {}, \"priority\": 3}, {}]",
            "unknown keyword argument 'priority'");
    refused(TASK, "[[\"" WF "\"], {\"workflow_uid\": \"" WF "\"}, {}]",
            "'workflow_uid' given both by position and by name");
    refused(TASK, "[[1, 2, 3, 4, 5], {}, {}]", "5 positional arguments, it takes at most 4");
    refused(TASK, "[[], {}, {}]", "either 'workflow_uid' or 'config' must be given");
    refused(TASK, "[[], {\"config\": {}, \"config_format\": \"yaml\"}, {}]",
            "config_format 'yaml' is not supported");
    refused(TASK, "[[], {\"config\": \"{}\"}, {}]", "'config' must be an object (a dict)");
    refused(TASK, "[[], {\"config\": {}, \"config_format\": \"json\"}, {}]",
            "'config' must be a string of JSON");
    refused(TASK, "[[], {\"config\": \"[1]\", \"config_format\": \"json\"}, {}]",
            "must hold a JSON object");
    refused(TASK, "[[], {\"config\": \"{oops\", \"config_format\": \"json\"}, {}]",
            "'config' (config_format \"json\") is not valid JSON: line 1");
    refused(TASK, "[[], {\"config\": {}, \"initial_inputs\": [1]}, {}]",
            "'initial_inputs' must be a dict or None");
    refused(TASK, "[[], {\"workflow_uid\": 7}, {}]", "'workflow_uid' must be a string");
    refused(TASK, "[[], {\"workflow_uid\": \"" WF "\", \"initial_inputs\": {}}, {}]",
            "a resume takes no inputs");
}

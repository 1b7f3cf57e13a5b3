#include "celery.h"

#include "message.h"
#include "uuid.h"

#include <jansson.h>
#include <string.h>

/* The task's parameters, in the order of its positional arguments. */
static const char *const params[] = {"workflow_uid", "config", "config_format", "initial_inputs"};
#define NPARAMS (sizeof params / sizeof params[0])

static weft_status bad(weft_err *err, const char *what)
{
    return weft_err_set(err, WEFT_EINVAL, "Celery call of %s: %s", WEFT_CELERY_ENTRY_TASK, what);
}

/* Collects args and kwargs into values[] (borrowed from the body), by parameter. */
static weft_status collect(const json_t *args, const json_t *kwargs, json_t *values[NPARAMS],
                           weft_err *err)
{
    if (!json_is_array(args) || !json_is_object(kwargs))
        return bad(err, "the body must be [args, kwargs, embed] with args an array and kwargs an"
                        " object (Celery task protocol v2)");
    if (json_array_size(args) > NPARAMS)
        return weft_err_set(err, WEFT_EINVAL,
                            "Celery call of %s: %zu positional arguments, it takes at most %zu",
                            WEFT_CELERY_ENTRY_TASK, json_array_size(args), NPARAMS);
    for (size_t i = 0; i < json_array_size(args); i++)
        values[i] = json_array_get(args, i);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)kwargs, key, v)
    {
        size_t i = 0;
        while (i < NPARAMS && strcmp(params[i], key) != 0)
            i++;
        if (i == NPARAMS)
            return weft_err_set(err, WEFT_EINVAL,
                                "Celery call of %s: unknown keyword argument '%s' (it takes"
                                " workflow_uid, config, config_format, initial_inputs)",
                                WEFT_CELERY_ENTRY_TASK, key);
        if (values[i])
            return weft_err_set(err, WEFT_EINVAL,
                                "Celery call of %s: '%s' given both by position and by name",
                                WEFT_CELERY_ENTRY_TASK, key);
        values[i] = v;
    }
    return WEFT_OK;
}

/* config as config_format says: a new reference to the definition object, or NULL with err. */
static json_t *definition(const json_t *config, const json_t *format, weft_err *err)
{
    const char *f = json_is_null(format) || !format ? "dict" : json_string_value(format);
    if (!f) {
        bad(err, "'config_format' must be a string: \"dict\" or \"json\"");
        return NULL;
    }
    if (strcmp(f, "dict") == 0) {
        if (!json_is_object(config)) {
            bad(err, "with config_format \"dict\", 'config' must be an object (a dict)");
            return NULL;
        }
        return json_incref((json_t *)config);
    }
    if (strcmp(f, "json") == 0) {
        if (!json_is_string(config)) {
            bad(err, "with config_format \"json\", 'config' must be a string of JSON");
            return NULL;
        }
        json_t *doc = weft_json_parse(json_string_value(config), json_string_length(config),
                                      "'config' (config_format \"json\")", err);
        if (doc && !json_is_object(doc)) {
            json_decref(doc);
            bad(err, "'config' (config_format \"json\") must hold a JSON object");
            return NULL;
        }
        if (!doc)
            weft_err_prefix(err, "Celery call of " WEFT_CELERY_ENTRY_TASK ": ");
        return doc;
    }
    weft_err_set(err, WEFT_EINVAL,
                 "Celery call of %s: config_format '%s' is not supported (\"dict\" or \"json\")",
                 WEFT_CELERY_ENTRY_TASK, f);
    return NULL;
}

weft_status weft_celery_entry(const char *task, const char *task_id, const char *body, size_t len,
                              char **entry, size_t *entry_len, weft_err *err)
{
    *entry = NULL;
    if (strcmp(task, WEFT_CELERY_ENTRY_TASK) != 0)
        return weft_err_set(err, WEFT_EINVAL,
                            "Celery task '%s' is not served on workflow_entry (only %s)", task,
                            WEFT_CELERY_ENTRY_TASK);
    json_t *doc = weft_json_parse(body, len, "Celery message body", err);
    if (!doc) {
        weft_err_prefix(err, "(is it sent with serializer='json'?) ");
        return WEFT_EINVAL;
    }
    weft_status st = WEFT_OK;
    json_t *values[NPARAMS] = {0};
    if (json_is_object(doc))
        st = bad(err, "the body is an object, as in task protocol v1: weft takes protocol v2"
                      " (Celery's default since 4.0)");
    else if (!json_is_array(doc) || json_array_size(doc) != 3)
        st = bad(err, "the body must be [args, kwargs, embed] (Celery task protocol v2)");
    if (!st)
        st = collect(json_array_get(doc, 0), json_array_get(doc, 1), values, err);
    json_t *uid = values[0], *config = values[1], *inputs = values[3];
    if (!st && uid && !json_is_null(uid) && !json_is_string(uid))
        st = bad(err, "'workflow_uid' must be a string (a UUID) or None");
    if (!st && inputs && !json_is_null(inputs) && !json_is_object(inputs))
        st = bad(err, "'initial_inputs' must be a dict or None");
    bool has_uid = uid && json_is_string(uid);
    bool has_config = config && !json_is_null(config);
    if (!st && !has_uid && !has_config)
        st = bad(err, "either 'workflow_uid' or 'config' must be given");
    if (!st && !has_config && inputs && !json_is_null(inputs))
        st = bad(err, "'initial_inputs' without 'config': a resume takes no inputs");
    json_t *def = NULL;
    if (!st && has_config && !(def = definition(config, values[2], err)))
        st = WEFT_EINVAL;
    if (!st) {
        /* a create without a uid takes the task's id when it is a UUID (Celery's are), so
         * the caller's AsyncResult id is the workflow's uid and every log line of the
         * workflow carries it; otherwise entry derives one from the message id */
        const char *wf = has_uid                                  ? json_string_value(uid)
                         : task_id && weft_uuid_valid(task_id) ? task_id
                                                                  : NULL;
        *entry = weft_msg_encode_entry(def, json_is_object(inputs) ? inputs : NULL, wf,
                                       entry_len);
    }
    json_decref(def);
    json_decref(doc);
    return st;
}

#include "message.h"

#include "alloc.h"
#include "definition.h"

#include <stdint.h>
#include <string.h>

json_t *weft_json_parse(const char *text, size_t len, const char *what, weft_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        weft_err_set(err, WEFT_EINVAL, "%s is not valid JSON: line %d column %d: %s", what, je.line,
                     je.column, je.text);
    return j;
}

static weft_status check_size(size_t len, size_t max_bytes, weft_err *err)
{
    if (len > max_bytes)
        return weft_err_set(err, WEFT_ETOOBIG, "message of %zu bytes is over the %zu-byte limit",
                            len, max_bytes);
    return WEFT_OK;
}

static weft_status get_uid(json_t *o, const char *field, char out[WEFT_UUID_LEN + 1], weft_err *err)
{
    json_t *v = json_object_get(o, field);
    if (!v)
        return weft_err_set(err, WEFT_EINVAL, "message lacks field '%s'", field);
    if (!json_is_string(v) || !weft_uuid_valid(json_string_value(v)))
        return weft_err_set(err, WEFT_EINVAL, "message field '%s' must be a UUID string", field);
    memcpy(out, json_string_value(v), WEFT_UUID_LEN + 1);
    return WEFT_OK;
}

/* The common start of decoding: size, JSON, an object. Fields it does not know are left
 * alone: a newer producer may send them during a rolling upgrade. On WEFT_OK *out is a new
 * reference. */
static weft_status decode_object(const char *body, size_t len, size_t max_bytes, json_t **out,
                                 weft_err *err)
{
    *out = NULL;
    weft_status st = check_size(len, max_bytes, err);
    if (st)
        return st;
    json_t *o = weft_json_parse(body, len, "message", err);
    if (!o)
        return WEFT_EINVAL;
    if (!json_is_object(o))
        st = weft_err_set(err, WEFT_EINVAL, "message must be a JSON object");
    if (st)
        json_decref(o);
    else
        *out = o;
    return st;
}

weft_status weft_msg_decode_attempt(const char *body, size_t len, size_t max_bytes,
                                    weft_attempt_msg *out, weft_err *err)
{
    json_t *o;
    weft_status st = decode_object(body, len, max_bytes, &o, err);
    if (st)
        return st;
    st = get_uid(o, "workflow_uid", out->workflow_uid, err);
    if (!st)
        st = get_uid(o, "activity_uid", out->activity_uid, err);
    if (!st) {
        json_t *a = json_object_get(o, "attempt");
        if (!json_is_integer(a) || json_integer_value(a) < 1 || json_integer_value(a) > 1000000)
            st = weft_err_set(err, WEFT_EINVAL, "message field 'attempt' must be an integer >= 1");
        else
            out->attempt = (int)json_integer_value(a);
    }
    json_decref(o);
    return st;
}

/* The definition and version members of a create by name. */
static weft_status decode_named(const json_t *o, bool has_config, weft_entry_msg *out,
                                weft_err *err)
{
    const json_t *name = json_object_get(o, "definition"), *version = json_object_get(o, "version");
    if (!name)
        return weft_err_set(err, WEFT_EINVAL, "message has 'version' but no 'definition'");
    if (has_config)
        return weft_err_set(err, WEFT_EINVAL,
                            "message has both 'config' and 'definition': send one");
    if (!json_is_string(name) || !weft_name_valid(json_string_value(name)))
        return weft_err_set(err, WEFT_EINVAL,
                            "message field 'definition' must be a definition's name"
                            " ([A-Za-z0-9_.-], 1..64 characters)");
    if (version && (!json_is_integer(version) || json_integer_value(version) < 1 ||
                    json_integer_value(version) > INT32_MAX))
        return weft_err_set(err, WEFT_EINVAL,
                            "message field 'version' must be a whole number >= 1");
    out->definition_name = weft_xstrdup(json_string_value(name));
    out->definition_version = version ? (int)json_integer_value(version) : 0;
    return WEFT_OK;
}

/* The cancel member of an entry message: an object with an optional reason. */
static weft_status decode_cancel(const json_t *cancel, bool has_config, weft_entry_msg *out,
                                 weft_err *err)
{
    if (has_config)
        return weft_err_set(err, WEFT_EINVAL,
                            "message creates a workflow ('config' or 'definition') and has"
                            " 'cancel': send one");
    if (!json_is_object(cancel))
        return weft_err_set(err, WEFT_EINVAL,
                            "message field 'cancel' must be an object, e.g. {\"reason\": \"...\"}");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)cancel, key, v)
    {
        if (strcmp(key, "reason") != 0)
            return weft_err_set(err, WEFT_EINVAL, "message field 'cancel': unknown field '%s'",
                                key);
    }
    json_t *reason = json_object_get(cancel, "reason");
    if (reason && !json_is_string(reason))
        return weft_err_set(err, WEFT_EINVAL, "message field 'cancel.reason' must be a string");
    const char *text = reason ? json_string_value(reason) : "";
    if (strlen(text) > WEFT_CANCEL_REASON_MAX)
        return weft_err_set(err, WEFT_EINVAL,
                            "message field 'cancel.reason' is longer than %d bytes",
                            WEFT_CANCEL_REASON_MAX);
    out->cancel = true;
    out->cancel_reason = weft_xstrdup(*text ? text : "no reason given");
    return WEFT_OK;
}

weft_status weft_msg_decode_entry(const char *body, size_t len, size_t max_bytes,
                                  weft_entry_msg *out, weft_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *o;
    weft_status st = decode_object(body, len, max_bytes, &o, err);
    if (st)
        return st;
    if (json_object_get(o, "workflow_uid")) {
        st = get_uid(o, "workflow_uid", out->workflow_uid, err);
        out->has_uid = st == WEFT_OK;
    }
    json_t *config = json_object_get(o, "config");
    json_t *inputs = json_object_get(o, "inputs");
    json_t *named = json_object_get(o, "definition");
    if (!st && config && !json_is_object(config))
        st = weft_err_set(err, WEFT_EINVAL, "message field 'config' must be an object");
    if (!st && (named || json_object_get(o, "version")))
        st = decode_named(o, config != NULL, out, err);
    bool creates = config || out->definition_name;
    if (!st && inputs && !json_is_object(inputs))
        st = weft_err_set(err, WEFT_EINVAL, "message field 'inputs' must be an object");
    if (!st && !creates && inputs)
        st = weft_err_set(err, WEFT_EINVAL,
                          "message has 'inputs' but no 'config' or 'definition'");
    if (!st && !creates && !out->has_uid)
        st = weft_err_set(err, WEFT_EINVAL,
                          "message needs 'config' or 'definition' (create) or 'workflow_uid'"
                          " (resume)");
    json_t *cancel = json_object_get(o, "cancel");
    if (!st && cancel)
        st = decode_cancel(cancel, creates, out, err);
    if (!st) {
        out->config = json_incref(config);
        out->inputs = inputs ? json_incref(inputs) : json_object();
    }
    json_decref(o);
    return st;
}

void weft_entry_msg_finish(weft_entry_msg *m)
{
    json_decref(m->config);
    json_decref(m->inputs);
    m->config = m->inputs = NULL;
    free(m->cancel_reason);
    m->cancel_reason = NULL;
    free(m->definition_name);
    m->definition_name = NULL;
}

static char *dump(json_t *o, size_t *len)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (len)
        *len = strlen(s);
    return s;
}

char *weft_msg_encode_attempt(const weft_attempt_msg *m, size_t *len)
{
    return dump(json_pack("{s:s, s:s, s:i}", "workflow_uid", m->workflow_uid, "activity_uid",
                          m->activity_uid, "attempt", m->attempt),
                len);
}

char *weft_msg_encode_entry(const json_t *config, const json_t *inputs, const char *uid,
                            size_t *len)
{
    json_t *o = json_object();
    if (config)
        json_object_set(o, "config", (json_t *)config);
    if (inputs)
        json_object_set(o, "inputs", (json_t *)inputs);
    if (uid)
        json_object_set_new(o, "workflow_uid", json_string(uid));
    return dump(o, len);
}

char *weft_msg_encode_cancel(const char *uid, const char *reason, size_t *len)
{
    json_t *cancel = json_object();
    if (reason)
        json_object_set_new(cancel, "reason", json_string(reason));
    return dump(json_pack("{s:s, s:o}", "workflow_uid", uid, "cancel", cancel), len);
}

char *weft_msg_encode_named(const char *name, int version, const json_t *inputs, const char *uid,
                            size_t *len)
{
    json_t *o = json_pack("{s:s, s:O}", "definition", name, "inputs", (json_t *)inputs);
    if (version > 0)
        json_object_set_new(o, "version", json_integer(version));
    if (uid)
        json_object_set_new(o, "workflow_uid", json_string(uid));
    return dump(o, len);
}

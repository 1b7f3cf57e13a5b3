/* The three message kinds (DESIGN §2): decoding with a size limit, and encoding.
 * Compatibility: a message may carry fields this version does not know; they are ignored, so
 * an older consumer keeps working while newer producers roll out. Everything known stays
 * strict: required fields, their types and ranges, the size limit. The definition inside an
 * entry message is not a message: its unknown fields are errors (definition.h). */
#ifndef WEFT_MESSAGE_H
#define WEFT_MESSAGE_H

#include "status.h"
#include "uuid.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A `default` or `workflow_handoff` message: one attempt of one activity. */
typedef struct {
    char workflow_uid[WEFT_UUID_LEN + 1];
    char activity_uid[WEFT_UUID_LEN + 1];
    int attempt; /* >= 1 */
} weft_attempt_msg;

/* A `workflow_entry` message: create (config set, or a named definition), resume (neither),
 * or cancel (`"cancel": {"reason": "..."}` with a workflow_uid and no config). */
typedef struct {
    json_t *config; /* owned reference or NULL */
    /* owned or NULL: `"definition": NAME` creates from the stored definition NAME, version
     * definition_version (0: the latest) */
    char *definition_name;
    int definition_version;
    json_t *inputs; /* owned reference; {} when absent */
    bool has_uid;
    char workflow_uid[WEFT_UUID_LEN + 1];
    bool cancel;
    char *cancel_reason; /* owned, when cancel: the reason given, or a default */
} weft_entry_msg;

/* The longest cancel reason a message may give, in bytes. */
#define WEFT_CANCEL_REASON_MAX 1000

/* Decodes body (borrowed, len bytes). Over max_bytes → WEFT_ETOOBIG; not JSON, not UTF-8, a
 * missing field or a known field of the wrong type or range → WEFT_EINVAL with err saying
 * which (JSON errors carry line and column). Unknown fields are ignored. */
weft_status weft_msg_decode_attempt(const char *body, size_t len, size_t max_bytes,
                                    weft_attempt_msg *out, weft_err *err);

/* As above for entry messages; on WEFT_OK the caller releases out with weft_entry_msg_finish. */
weft_status weft_msg_decode_entry(const char *body, size_t len, size_t max_bytes,
                                  weft_entry_msg *out, weft_err *err);
void weft_entry_msg_finish(weft_entry_msg *m);

/* New NUL-terminated compact JSON the caller frees; *len gets its length. */
char *weft_msg_encode_attempt(const weft_attempt_msg *m, size_t *len);
/* config and inputs borrowed (config NULL: a resume message; uid NULL: none). */
char *weft_msg_encode_entry(const json_t *config, const json_t *inputs, const char *uid,
                            size_t *len);

/* A create from the stored definition name (borrowed), version (0: the latest), with
 * inputs (borrowed) under uid (borrowed; NULL: none). */
char *weft_msg_encode_named(const char *name, int version, const json_t *inputs, const char *uid,
                            size_t *len);

/* The cancel message of workflow uid with reason (both borrowed; reason NULL: none). */
char *weft_msg_encode_cancel(const char *uid, const char *reason, size_t *len);

/* Parses text (borrowed) as JSON with jansson's strict decoder; on failure err says
 * "what: line L column C: reason". Returns a new reference or NULL. */
json_t *weft_json_parse(const char *text, size_t len, const char *what, weft_err *err);

#endif

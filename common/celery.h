/* Celery's task protocol v2 on workflow_entry (DESIGN §14): the seed's services start
 * workflows by calling the Celery task `workflow.schedule_workflow_entry`, and weft-entry
 * takes that call as the entry message it stands for, so they publish unchanged.
 *
 * A protocol-v2 message names its task in the header `task` and its id in `id`; its body
 * (JSON, the serializer the seed uses) is `[args, kwargs, embed]`. The task's parameters,
 * positional in this order or by name: workflow_uid, config, config_format ("dict": config
 * is an object; "json": a string holding one), initial_inputs. They map to weft's entry
 * message:
 *   config (with or without workflow_uid) → create, with initial_inputs as the inputs; an
 *     existing workflow_uid makes it a re-submit, as with any create message;
 *   workflow_uid alone → resume.
 * Anything else (another task, protocol v1, a pickled body, an unknown parameter, a value
 * of the wrong type) is bad input with an error naming it. Pure; no I/O. */
#ifndef WEFT_CELERY_H
#define WEFT_CELERY_H

#include "status.h"

#include <stddef.h>

/* The one Celery task weft serves. */
#define WEFT_CELERY_ENTRY_TASK "workflow.schedule_workflow_entry"

/* Translates the Celery call (task, task_id: the headers' values, task_id may be NULL; body,
 * len: the message body; all borrowed) into weft's entry message. A create without a
 * workflow_uid is given task_id as its uid when that is a UUID. On WEFT_OK *entry is a new
 * NUL-terminated JSON text (free it) of *entry_len bytes; WEFT_EINVAL with err naming what
 * is wrong otherwise. */
weft_status weft_celery_entry(const char *task, const char *task_id, const char *body, size_t len,
                              char **entry, size_t *entry_len, weft_err *err);

#endif

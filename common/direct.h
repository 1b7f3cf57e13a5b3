/* Direct mode (DESIGN §7): one workflow run to its end in this process, over an in-process
 * transport instead of RabbitMQ, with the same engine, store and tasks as the consumers. The
 * process serves every routing queue (queues.h): an activity's `queue` changes nothing here,
 * but is stored as in distributed mode. */
#ifndef WEFT_DIRECT_H
#define WEFT_DIRECT_H

#include "weft_limits.h"
#include "runner.h"
#include "status.h"
#include "store.h"
#include "task.h"

#include <jansson.h>

/* Creates a workflow from doc and inputs (borrowed) and runs every step until nothing is
 * left to do, honouring retry delays by sleeping. Tasks run in a task process started as
 * runner (borrowed) says: the calling program must serve WEFT_TASK_PROCESS_ARG (runner.h).
 * uid receives the workflow uid (caller's buffer); read the result with
 * weft_store_workflow. Returns an error only when the run could not be carried out (invalid
 * definition, database failure): a workflow that failed is a WEFT_OK run. */
weft_status weft_direct_run(weft_store *store, const weft_task_registry *tasks,
                            const weft_runner_config *runner, const weft_limits *limits,
                            const char *data_dir, const json_t *doc, const json_t *inputs,
                            char uid[WEFT_UUID_LEN + 1], weft_err *err);

#endif

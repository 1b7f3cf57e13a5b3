/* The request and result objects of DESIGN §9, which every task-file task that runs outside
 * weft's own code speaks: exec tasks (exec_task.h: a JSON line each way) and http tasks
 * (http_task.h: a POST and its answer).
 *
 *   request, one per attempt:
 *     {"id": "ACTIVITY_UID/ATTEMPT", "task", "workflow_uid", "activity_uid", "activity",
 *      "attempt", "params", "input", "upstream"}
 *   result, one per attempt:
 *     {"id", "status": "success", "data": {...}}  (data optional: {})
 *     {"id", "status": "failure", "error": {"code": "TRANSIENT_ERROR"|"PERMANENT_ERROR",
 *      "message": "..."}}
 *
 * The id names the attempt, so that an answer meant for another one is never taken for
 * this one. Every error text written here names the task and is valid UTF-8: it is stored
 * in Postgres, which refuses anything else (and the worker would retry the write for ever). */
#ifndef WEFT_TASK_PROTOCOL_H
#define WEFT_TASK_PROTOCOL_H

#include "task.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Room for an attempt id: a UUID, a slash, an attempt number. */
#define WEFT_PROTOCOL_ID_LEN 96

/* Writes ctx's attempt id, "ACTIVITY_UID/ATTEMPT", into id (caller's buffer). */
void weft_protocol_attempt_id(const weft_task_ctx *ctx, char id[WEFT_PROTOCOL_ID_LEN]);

/* The request object of an attempt of task with ctx and id (all borrowed) as compact JSON
 * text without a newline: a new string (*len its length), or NULL when ctx holds what JSON
 * cannot carry. */
char *weft_protocol_request(const char *task, const char *id, const weft_task_ctx *ctx,
                            size_t *len);

/* Judges msg (borrowed), a result object: its "status" is "success" or "failure" (the caller
 * checked that, and its id). WEFT_TASK_OK with *output new (its data, {} when absent); a
 * failure's code decides TRANSIENT or PERMANENT, errbuf holding "TASK: message". Success
 * with data that is not an object is PERMANENT. *malformed: a failure without a valid code
 * (TRANSIENT, errbuf says so) — the answer broke the protocol rather than failing. */
weft_task_result weft_protocol_result(const char *task, const json_t *msg, json_t **output,
                                      bool *malformed, char *errbuf, size_t errlen);

/* Writes the formatted reason into errbuf (cut to errlen, never inside a UTF-8 sequence) and
 * returns r: `return weft_protocol_fail(...)`. */
weft_task_result weft_protocol_fail(char *errbuf, size_t errlen, weft_task_result r,
                                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Cuts s (in place) before a multibyte UTF-8 sequence that a truncation left incomplete at
 * its end. */
void weft_protocol_utf8_trim(char *s);

/* The first bytes of text (n long, not terminated) into dst (cap bytes, cap > 4) as
 * printable ASCII, "..." when cut: shows what a task answered without carrying its bytes. */
void weft_protocol_printable(char *dst, size_t cap, const char *text, size_t n);

#endif

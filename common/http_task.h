/* Http tasks (DESIGN §9): attempts of a task-file task (taskfile.h, {"http": URL}) served by
 * a web endpoint of the user's, in any language, on any host.
 *
 * An attempt is one POST of the request object of task_protocol.h, exactly the bytes an
 * exec task gets on its stdin (without the newline), with Content-Type: application/json and,
 * when the task has a secret_file, X-Weft-Signature: sha256=HEX, HEX being
 * HMAC-SHA256(secret, body) in lower case over the very bytes sent. The answer decides it:
 *   2xx, a result object ("status" "success" or "failure", its "id", when present, this
 *        attempt's): that result;
 *   2xx, any other JSON object: that object is the data;
 *   2xx, a body that is not a JSON object, or over the message limit; a result for another
 *        attempt; a failure without a valid code; 3xx (redirects are not followed: a POST
 *        moved elsewhere is a configuration to fix); 4xx but 408 and 429: PERMANENT;
 *   408, 429, 5xx; no answer within the attempt's time; no connection (refused, reset, a
 *        name that does not resolve, TLS): TRANSIENT.
 * Every error names the task and the URL (its password redacted); a non-2xx one shows the
 * status and the first bytes of the body.
 *
 * The POST runs in the calling thread (the worker thread's runner), not in the task process:
 * it runs none of the user's code, only libcurl waiting on a socket. The thread keeps its
 * duties meanwhile: idle (heartbeats, the lease) about every 100 ms, the time limit, and a
 * stop request's grace, past which the transfer is dropped (its connection closed) and the
 * attempt handed back. A request is one connection, closed when the attempt ends: nothing is
 * kept between attempts. */
#ifndef WEFT_HTTP_TASK_H
#define WEFT_HTTP_TASK_H

#include "runner.h"
#include "taskfile.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* "sha256=" and 64 hex digits, terminated. */
#define WEFT_HTTP_SIGNATURE_LEN 72

/* Runs one attempt of t (borrowed) with ctx (borrowed), timeout_s (0: none), opts (borrowed:
 * idle about every 100 ms, grace_s after a stop request) and max_body_bytes (the largest
 * answer; 0: 1 MiB). On WEFT_TASK_OK *output is a new object; otherwise errbuf holds a
 * reason naming the task. *abandoned: a stop request's grace ran out first (hand the attempt
 * back). Needs curl_global_init done. */
weft_task_result weft_http_task_run(const weft_taskfile_http *t, const weft_task_ctx *ctx,
                                    int timeout_s, const weft_runner_opts *opts,
                                    size_t max_body_bytes, json_t **output, char *errbuf,
                                    size_t errlen, bool *abandoned);

/* Judges the answer to an attempt of task (borrowed) whose id is id (borrowed): HTTP status
 * and body (len bytes, borrowed, not terminated), url (borrowed) the endpoint as errors show
 * it. As weft_http_task_run's *output and errbuf. */
weft_task_result weft_http_task_answer(const char *task, const char *url, const char *id,
                                       long status, const char *body, size_t len, json_t **output,
                                       char *errbuf, size_t errlen);

/* The signature header's value for body (len bytes) under secret (secret_len bytes), both
 * borrowed, into out (caller's buffer). */
void weft_http_task_signature(const void *secret, size_t secret_len, const void *body, size_t len,
                              char out[WEFT_HTTP_SIGNATURE_LEN]);

/* What an HTTP status says of an attempt: OK for 2xx; TRANSIENT for 408, 429 and 5xx, which
 * may pass; PERMANENT for anything else, which will answer the same again. Shared with the
 * built-in http.fetch. */
weft_task_result weft_http_status_result(long status);

#endif

#include "http_task.h"

#include "alloc.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "stop.h"
#include "task_protocol.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS 100
/* How much of a refused answer's body an error shows: enough to read the server's reason. */
#define SNIPPET_BYTES 200
#define USER_AGENT "weft/0.1"

/* The answer's body, bounded: past max the transfer is cut and over set. */
typedef struct {
    char *data;
    size_t len, max;
    bool over;
} answer_buf;

/* How waiting for the transfer ended. */
typedef enum { WAIT_DONE, WAIT_TIMED_OUT, WAIT_STOPPED, WAIT_BROKEN } wait_end;

weft_task_result weft_http_status_result(long status)
{
    if (status >= 200 && status < 300)
        return WEFT_TASK_OK;
    if (status == 408 || status == 429 || status >= 500)
        return WEFT_TASK_TRANSIENT;
    return WEFT_TASK_PERMANENT;
}

void weft_http_task_signature(const void *secret, size_t secret_len, const void *body, size_t len,
                              char out[WEFT_HTTP_SIGNATURE_LEN])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    /* a key over INT_MAX bytes cannot come from a secret_file (taskfile.c bounds it) */
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, body, len, mac, &n) || n != 32) {
        /* a libcrypto without SHA-256, or out of memory: as alloc.h, nothing to go on with */
        WEFT_LOG(WEFT_LOG_ERROR, NULL, NULL, "HMAC-SHA256 unavailable");
        abort();
    }
    memcpy(out, "sha256=", 7);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", mac[i]);
}

weft_task_result weft_http_task_answer(const char *task, const char *url, const char *id,
                                       long status, const char *body, size_t len, json_t **output,
                                       char *errbuf, size_t errlen)
{
    *output = NULL;
    char start[SNIPPET_BYTES + 4];
    weft_protocol_printable(start, sizeof start, body, len);
    weft_task_result r = weft_http_status_result(status);
    if (r != WEFT_TASK_OK)
        return weft_protocol_fail(
            errbuf, errlen, r, "task '%s': POST %s answered %ld%s%s%s%s", task, url, status,
            status >= 300 && status < 400 ? " (redirects are not followed)" : "", len ? ": '" : "",
            start, len ? "'" : "");
    json_t *msg = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    const char *verdict = json_string_value(json_object_get(msg, "status"));
    const json_t *answered = json_object_get(msg, "id");
    if (!json_is_object(msg)) {
        r = weft_protocol_fail(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "task '%s': POST %s answered %ld with a body that is not a JSON"
                               " object: '%s'",
                               task, url, status, start);
    } else if (!verdict || (strcmp(verdict, "success") != 0 && strcmp(verdict, "failure") != 0)) {
        *output = json_incref(msg); /* not a result: the data itself */
    } else if (answered &&
               (!json_is_string(answered) || strcmp(json_string_value(answered), id) != 0)) {
        const char *other = json_is_string(answered) ? json_string_value(answered) : "?";
        char shown[104];
        weft_protocol_printable(shown, sizeof shown, other, strlen(other));
        r = weft_protocol_fail(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "task '%s' answered for \"%s\", not for this attempt \"%s\"", task,
                               shown, id);
    } else {
        bool malformed;
        r = weft_protocol_result(task, msg, output, &malformed, errbuf, errlen);
        /* the same server answers the same again: unlike a broken process, nothing is
         * replaced that a retry could meet healthy */
        if (malformed)
            r = WEFT_TASK_PERMANENT;
    }
    json_decref(msg);
    return r;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *userdata)
{
    answer_buf *b = userdata;
    size_t n = size * nmemb;
    if (n > b->max - b->len) {
        b->over = true;
        return 0; /* cuts the transfer: CURLE_WRITE_ERROR */
    }
    b->data = weft_xrealloc(b->data, b->len + n + 1);
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return n;
}

/* Drives the transfer of m until it ends, the time limit passes or a stop request's grace
 * runs out, calling idle about every POLL_MS. On WAIT_DONE *rc is the transfer's result. */
static wait_end wait_transfer(CURLM *m, int timeout_s, const weft_runner_opts *opts, CURLcode *rc)
{
    double start = weft_clock_s(), last_idle = start, stop_at = 0;
    for (;;) {
        int running = 0;
        if (curl_multi_perform(m, &running) != CURLM_OK)
            return WAIT_BROKEN;
        if (!running) {
            int left;
            CURLMsg *msg = curl_multi_info_read(m, &left);
            if (!msg || msg->msg != CURLMSG_DONE)
                return WAIT_BROKEN;
            *rc = msg->data.result;
            return WAIT_DONE;
        }
        if (curl_multi_poll(m, NULL, 0, POLL_MS, NULL) != CURLM_OK)
            return WAIT_BROKEN;
        double now = weft_clock_s();
        if (now - last_idle >= POLL_MS / 1000.0) {
            last_idle = now;
            if (opts->idle)
                opts->idle(opts->idle_arg, 0);
        }
        if (timeout_s > 0 && now - start >= timeout_s)
            return WAIT_TIMED_OUT;
        if (weft_stop_requested && stop_at == 0)
            stop_at = now;
        if (stop_at > 0 && now - stop_at >= opts->grace_s)
            return WAIT_STOPPED;
    }
}

/* A handle for the POST of body (len bytes, borrowed: it must outlive the handle) to t's
 * URL with headers (borrowed, likewise), its answer into ans. NULL when libcurl has none. */
static CURL *prepare_post(const weft_taskfile_http *t, const char *body, size_t len,
                          struct curl_slist *headers, answer_buf *ans, char *curl_err)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, t->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ans->max);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, ans);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    return h;
}

/* The request's headers: a new list (curl_slist_free_all), NULL when out of memory. */
static struct curl_slist *post_headers(const weft_taskfile_http *t, const char *body, size_t len)
{
    char signature[sizeof "X-Weft-Signature: " + WEFT_HTTP_SIGNATURE_LEN];
    /* "Expect:" drops the 100-continue round trip libcurl makes for a larger body */
    const char *fixed[] = {"Content-Type: application/json", "Accept: application/json",
                           "Expect:", t->secret ? signature : NULL};
    if (t->secret) {
        strcpy(signature, "X-Weft-Signature: ");
        weft_http_task_signature(t->secret, t->secret_len, body, len,
                                 signature + strlen(signature));
    }
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] && fixed[i]; i++) {
        struct curl_slist *more = curl_slist_append(headers, fixed[i]);
        if (!more) {
            curl_slist_free_all(headers);
            return NULL;
        }
        headers = more;
    }
    return headers;
}

/* The attempt's result once the transfer of h ended with rc. */
static weft_task_result judge_transfer(const weft_taskfile_http *t, const weft_task_ctx *ctx,
                                       const char *id, const char *shown, CURL *h, CURLcode rc,
                                       const answer_buf *ans, const char *curl_err, json_t **output,
                                       char *errbuf, size_t errlen)
{
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    bool over = ans->over || rc == CURLE_FILESIZE_EXCEEDED;
    if (over && weft_http_status_result(status) == WEFT_TASK_OK)
        return weft_protocol_fail(errbuf, errlen, WEFT_TASK_PERMANENT,
                                  "task '%s': POST %s answered with more than %zu bytes (the"
                                  " message limit, WEFT_MAX_MESSAGE_BYTES)",
                                  t->name, shown, ans->max);
    if (rc != CURLE_OK && !(over && status > 0)) {
        char *why = weft_redact_secret(curl_err[0] ? curl_err : curl_easy_strerror(rc), t->url);
        weft_task_result r =
            weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT, "task '%s': POST %s failed: %s",
                               t->name, shown, why);
        free(why);
        return r;
    }
    WEFT_LOG(WEFT_LOG_DEBUG, ctx->workflow_uid, ctx->activity_uid,
             "task '%s': POST %s answered %ld (%zu bytes)", t->name, shown, status, ans->len);
    /* an answer cut at the limit is judged on what came: its status decides */
    return weft_http_task_answer(t->name, shown, id, status, ans->data ? ans->data : "", ans->len,
                                 output, errbuf, errlen);
}

weft_task_result weft_http_task_run(const weft_taskfile_http *t, const weft_task_ctx *ctx,
                                    int timeout_s, const weft_runner_opts *opts,
                                    size_t max_body_bytes, json_t **output, char *errbuf,
                                    size_t errlen, bool *abandoned)
{
    *output = NULL;
    *abandoned = false;
    char id[WEFT_PROTOCOL_ID_LEN];
    weft_protocol_attempt_id(ctx, id);
    size_t len = 0;
    char *body = weft_protocol_request(t->name, id, ctx, &len);
    if (!body)
        return weft_protocol_fail(errbuf, errlen, WEFT_TASK_PERMANENT,
                                  "task '%s': its request cannot be written as JSON", t->name);
    char *shown = weft_redact_url(t->url);
    char curl_err[CURL_ERROR_SIZE] = "";
    answer_buf ans = {.max = max_body_bytes ? max_body_bytes : 1024 * 1024};
    struct curl_slist *headers = post_headers(t, body, len);
    CURL *h = headers ? prepare_post(t, body, len, headers, &ans, curl_err) : NULL;
    CURLM *m = h ? curl_multi_init() : NULL;
    weft_task_result r = WEFT_TASK_TRANSIENT;
    CURLcode rc = CURLE_OK;
    wait_end end = WAIT_BROKEN;
    if (m && curl_multi_add_handle(m, h) == CURLM_OK)
        end = wait_transfer(m, timeout_s, opts, &rc);
    if (end == WAIT_DONE)
        r = judge_transfer(t, ctx, id, shown, h, rc, &ans, curl_err, output, errbuf, errlen);
    else if (end == WAIT_TIMED_OUT)
        r = weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT,
                               "task '%s' timed out after %d s (POST %s)", t->name, timeout_s,
                               shown);
    else if (end == WAIT_STOPPED)
        r = weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT, "stopped by shutdown");
    else
        r = weft_protocol_fail(errbuf, errlen, WEFT_TASK_TRANSIENT,
                               "task '%s': POST %s: libcurl could not run the request", t->name,
                               shown);
    *abandoned = end == WAIT_STOPPED;
    if (m) {
        curl_multi_remove_handle(m, h);
        curl_multi_cleanup(m);
    }
    curl_easy_cleanup(h); /* closes the connection: a dropped attempt's server sees it go */
    curl_slist_free_all(headers);
    free(ans.data);
    free(shown);
    free(body);
    return r;
}

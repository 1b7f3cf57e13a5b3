#include "s3.h"

#include "alloc.h"
#include "s3_xml.h"
#include "task_impl.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S3_CONNECT_TIMEOUT_S 10L
/* A transfer that moves no byte for this long is dead (a stalled peer, a lost route): the
 * attempt fails TRANSIENT instead of waiting for the attempt's own time limit. */
#define S3_STALL_S 60L
/* S3's error documents are a few hundred bytes; past this the rest is not read for it. */
#define S3_ERROR_BODY_MAX (64 * 1024)
#define S3_USER_AGENT "weft/0.1"

/* getenv, with an empty value read as unset. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static bool region_valid(const char *r)
{
    size_t n = strlen(r);
    return n > 0 && n < 64 && strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* The base URL (new) of an endpoint URL: scheme://host[:port], or NULL when it is not an
 * http(s) URL of a host alone. curl parses it, as it will parse the request URL. */
static char *endpoint_base(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *path = NULL, *query = NULL,
         *base = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
        curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_NO_QUERY &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && strcmp(path, "/") == 0 &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) && !strchr(url, '#')) {
        CURLUcode pc = curl_url_get(u, CURLUPART_PORT, &port, 0);
        base = pc == CURLUE_OK ? weft_xasprintf("%s://%s:%s", scheme, host, port)
                               : weft_xasprintf("%s://%s", scheme, host);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return base;
}

weft_task_result weft_s3_config_init(weft_s3_config *cfg, const char *task, char *errbuf,
                                     size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    static const char *const required[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!env(required[i]))
            return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                                   "%s: %s is not set in the worker's environment", task,
                                   required[i]);
    const char *region = env("AWS_REGION") ? env("AWS_REGION") : WEFT_S3_DEFAULT_REGION;
    if (!region_valid(region))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "%s: AWS_REGION must be a region name such as us-east-1", task);
    const char *endpoint = env("WEFT_S3_ENDPOINT");
    char *base = NULL;
    if (endpoint) {
        base = endpoint_base(endpoint);
        /* the value is not shown: a URL that failed to parse may hold a password */
        if (!base)
            return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                                   "%s: WEFT_S3_ENDPOINT must be an http:// or https:// URL of "
                                   "a host and port alone (no user, path, query or fragment)",
                                   task);
    } else {
        base = weft_xasprintf("https://s3.%s.amazonaws.com", region);
    }
    cfg->access_key_id = env("AWS_ACCESS_KEY_ID");
    cfg->secret_access_key = env("AWS_SECRET_ACCESS_KEY");
    cfg->session_token = env("AWS_SESSION_TOKEN");
    cfg->region = weft_xstrdup(region);
    cfg->endpoint = base;
    return WEFT_TASK_OK;
}

void weft_s3_config_finish(weft_s3_config *cfg)
{
    free(cfg->region);
    free(cfg->endpoint);
    memset(cfg, 0, sizeof *cfg);
}

/* A-Z a-z 0-9, by value: isalnum would follow the locale. */
static bool ascii_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

char *weft_s3_uri_encode(const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = weft_xmalloc(strlen(s) * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (ascii_alnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 0x0f];
        }
    }
    *o = '\0';
    return out;
}

bool weft_s3_bucket_valid(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63 || strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n)
        return false;
    return ascii_alnum((unsigned char)b[0]) && ascii_alnum((unsigned char)b[n - 1]);
}

weft_task_result weft_s3_status_result(long status, const char *code)
{
    /* the codes S3 gives for "slow down" and "try again", whatever their status */
    static const char *const transient[] = {
        "SlowDown",       "Throttling",    "ThrottlingException", "RequestThrottled",
        "RequestTimeout", "InternalError", "ServiceUnavailable",  "XAmzContentSHA256Mismatch",
        "BadDigest",
    };
    if (status >= 200 && status < 300)
        return WEFT_TASK_OK;
    for (size_t i = 0; code && i < sizeof transient / sizeof transient[0]; i++)
        if (strcmp(code, transient[i]) == 0)
            return WEFT_TASK_TRANSIENT;
    if (status == 408 || status == 429 || status >= 500)
        return WEFT_TASK_TRANSIENT;
    return WEFT_TASK_PERMANENT;
}

char *weft_s3_name(const char *bucket, const char *key)
{
    return key ? weft_xasprintf("s3://%s/%s", bucket, key) : weft_xasprintf("s3://%s", bucket);
}

/* One exchange in flight: where its body goes, what its headers said. */
typedef struct {
    CURL *curl;
    const weft_s3_request *req;
    weft_s3_response *resp;
    bool sink_refused;
    char *error_body; /* a non-2xx body, up to S3_ERROR_BODY_MAX */
    size_t error_len;
    long long uploaded;
} s3_exchange;

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    s3_exchange *x = arg;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
        if (x->req->sink && !x->req->sink(data, n, x->req->sink_arg)) {
            x->sink_refused = true;
            return 0;
        }
        return n;
    }
    size_t room = S3_ERROR_BODY_MAX - x->error_len, take = n < room ? n : room;
    if (take) {
        x->error_body = weft_xrealloc(x->error_body, x->error_len + take + 1);
        memcpy(x->error_body + x->error_len, data, take);
        x->error_len += take;
        x->error_body[x->error_len] = '\0';
    }
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    s3_exchange *x = arg;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) { /* a new answer (after 100 Continue) */
        x->resp->etag[0] = '\0';
    } else if (n > 5 && strncasecmp(data, "etag:", 5) == 0) {
        const char *v = data + 5, *end = data + n;
        while (v < end && (*v == ' ' || *v == '\t' || *v == '"'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '"'))
            end--;
        size_t len = (size_t)(end - v);
        if (len < sizeof x->resp->etag) {
            memcpy(x->resp->etag, v, len);
            x->resp->etag[len] = '\0';
        }
    }
    return n;
}

static size_t on_upload(char *buf, size_t size, size_t nitems, void *arg)
{
    s3_exchange *x = arg;
    long long left = x->req->upload_bytes - x->uploaded;
    size_t want = size * nitems;
    if ((long long)want > left)
        want = (size_t)left;
    size_t got = want ? fread(buf, 1, want, x->req->upload) : 0;
    if (got < want && ferror(x->req->upload))
        return CURL_READFUNC_ABORT;
    x->uploaded += (long long)got;
    return got; /* short of upload_bytes at end of file: curl fails the upload */
}

/* The request's URL (new): the endpoint, the bucket, the key encoded, the query. */
static char *request_url(const weft_s3_config *cfg, const weft_s3_request *req)
{
    char *key = req->key ? weft_s3_uri_encode(req->key, true) : NULL;
    char *url = weft_xasprintf("%s/%s%s%s%s%s", cfg->endpoint, req->bucket, key ? "/" : "",
                               key ? key : "", req->query ? "?" : "", req->query ? req->query : "");
    free(key);
    return url;
}

/* The headers libcurl signs along with host and x-amz-date. */
static struct curl_slist *request_headers(const weft_s3_config *cfg, const weft_s3_request *req)
{
    char *line = weft_xasprintf("x-amz-content-sha256: %s",
                                req->payload_sha256 ? req->payload_sha256 : WEFT_S3_EMPTY_SHA256);
    struct curl_slist *h = curl_slist_append(NULL, line);
    free(line);
    if (h && cfg->session_token) {
        line = weft_xasprintf("x-amz-security-token: %s", cfg->session_token);
        struct curl_slist *more = curl_slist_append(h, line);
        free(line);
        if (!more) {
            curl_slist_free_all(h);
            return NULL;
        }
    }
    return h;
}

/* The reason of a non-2xx answer into errbuf: status, S3's code and message. */
static weft_task_result answer_error(const char *task, const weft_s3_request *req,
                                     const s3_exchange *x, char *errbuf, size_t errlen)
{
    const char *body = x->error_body ? x->error_body : "";
    char *code = weft_s3_xml_text(body, x->error_len, "Code");
    char *message = code ? weft_s3_xml_text(body, x->error_len, "Message") : NULL;
    char *name = weft_s3_name(req->bucket, req->key);
    weft_task_result result = weft_s3_status_result(x->resp->status, code);
    weft_task_error(errbuf, errlen, result, "%s: %s %s answered %ld%s%s%s%s", task, req->method,
                    name, x->resp->status, code ? " " : "", code ? code : "",
                    message && *message ? ": " : "", message && *message ? message : "");
    free(name);
    free(message);
    free(code);
    return result;
}

weft_task_result weft_s3_perform(const weft_s3_config *cfg, const char *task,
                                 const weft_s3_request *req, weft_s3_response *resp, char *errbuf,
                                 size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl ? request_headers(cfg, req) : NULL;
    if (!headers) {
        curl_easy_cleanup(curl);
        return weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                               "%s: cannot start a libcurl session", task);
    }
    s3_exchange x = {curl, req, resp, false, NULL, 0, 0};
    char curl_err[CURL_ERROR_SIZE] = "";
    char *url = request_url(cfg, req);
    char *sigv4 = weft_xasprintf("aws:amz:%s:s3", cfg->region);

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    /* the path is signed as sent: curl must not fold "." or ".." segments of a key */
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->access_key_id);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg->secret_access_key);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, S3_CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, S3_STALL_S);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, S3_USER_AGENT);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    if (strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->upload_bytes);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(curl, CURLOPT_READDATA, &x);
    }

    weft_task_result result;
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    char *name = weft_s3_name(req->bucket, req->key);
    if (x.sink_refused) {
        result = weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                 "%s: %s %s: the body could not be kept", task, req->method, name);
    } else if (rc != CURLE_OK) {
        result = weft_task_error(errbuf, errlen,
                                 weft_task_curl_permanent(rc) ? WEFT_TASK_PERMANENT
                                                              : WEFT_TASK_TRANSIENT,
                                 "%s: %s %s failed: %s", task, req->method, name,
                                 curl_err[0] ? curl_err : curl_easy_strerror(rc));
    } else if (resp->status < 200 || resp->status >= 300) {
        result = answer_error(task, req, &x, errbuf, errlen);
    } else {
        result = WEFT_TASK_OK;
    }
    free(name);
    free(x.error_body);
    free(sigv4);
    free(url);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return result;
}

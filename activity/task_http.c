/* http.fetch: GET a URL into a file of the data dir, written to a temporary file first and
 * renamed into place, so a reader never sees half a download. */
#include "task_impl.h"

#include "alloc.h"
#include "config.h"
#include "data_file.h"
#include "http_task.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <strings.h>

#define FETCH_DEFAULT_TIMEOUT_S 30
#define FETCH_DEFAULT_MAX_BYTES (64 * 1024 * 1024)
#define FETCH_CONNECT_TIMEOUT_S 10L
#define FETCH_MAX_REDIRECTS 5L
#define FETCH_USER_AGENT "weft/0.1"

/* Where the body goes, and how much of it there may be. */
typedef struct {
    FILE *f;
    curl_off_t bytes, max;
    bool over;
    int write_errno; /* why fwrite failed */
} fetch_sink;

static size_t write_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    fetch_sink *s = userdata;
    size_t n = size * nmemb;
    if ((curl_off_t)n > s->max - s->bytes) {
        s->over = true;
        return 0;
    }
    if (fwrite(data, 1, n, s->f) != n) {
        s->write_errno = errno;
        return 0;
    }
    s->bytes += (curl_off_t)n;
    return n;
}

bool weft_task_curl_permanent(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return true;
    default:
        return false;
    }
}


typedef struct {
    const char *url;
    char *shown_url; /* redacted, new */
    double timeout_s;
    json_int_t max_bytes;
} fetch_args;

/* Runs the GET into f; on WEFT_TASK_OK fills status, bytes and content_type (new or NULL). */
static weft_task_result fetch_into(const fetch_args *a, FILE *f, long *status, curl_off_t *bytes,
                                   char **content_type, char *errbuf, size_t errlen)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                               "http.fetch: cannot start a libcurl session");
    char curl_err[CURL_ERROR_SIZE] = "";
    fetch_sink sink = {f, 0, (curl_off_t)a->max_bytes, false, 0};

    curl_easy_setopt(curl, CURLOPT_URL, a->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, FETCH_MAX_REDIRECTS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, FETCH_CONNECT_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(a->timeout_s * 1000.0));
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 0L);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)a->max_bytes);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, FETCH_USER_AGENT);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);

    weft_task_result result = WEFT_TASK_OK;
    CURLcode rc = curl_easy_perform(curl);
    if (sink.over || rc == CURLE_FILESIZE_EXCEEDED) {
        result = weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                                 "http.fetch: GET %s: response over max_bytes (%lld)", a->shown_url,
                                 (long long)a->max_bytes);
    } else if (rc == CURLE_WRITE_ERROR) {
        result = weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                 "http.fetch: GET %s: writing the body failed: %s", a->shown_url,
                                 strerror(sink.write_errno));
    } else if (rc != CURLE_OK) {
        result = weft_task_error(errbuf, errlen,
                                 weft_task_curl_permanent(rc) ? WEFT_TASK_PERMANENT
                                                              : WEFT_TASK_TRANSIENT,
                                 "http.fetch: GET %s failed: %s", a->shown_url,
                                 curl_err[0] ? curl_err : curl_easy_strerror(rc));
    } else {
        char *ct = NULL;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
        curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
        result = weft_http_status_result(*status);
        if (result != WEFT_TASK_OK) {
            weft_task_error(errbuf, errlen, result, "http.fetch: GET %s answered %ld", a->shown_url,
                            *status);
        } else {
            *bytes = sink.bytes;
            *content_type = ct ? weft_xstrdup(ct) : NULL; /* curl's copy dies with curl */
        }
    }
    curl_easy_cleanup(curl);
    return result;
}

/* Reads and checks the arguments; on success a->shown_url is new. */
static weft_task_result fetch_parse_args(const weft_task_ctx *ctx, fetch_args *a, const char **path,
                                         char *errbuf, size_t errlen)
{
    if (!weft_task_str_arg(ctx, "url", NULL, &a->url) || !a->url)
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "http.fetch: 'url' must be a string");
    if (strncasecmp(a->url, "http://", 7) != 0 && strncasecmp(a->url, "https://", 8) != 0) {
        char *shown = weft_redact_url(a->url);
        weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                        "http.fetch: 'url' must be an http:// or https:// URL, got '%s'", shown);
        free(shown);
        return WEFT_TASK_PERMANENT;
    }
    if (!weft_task_str_arg(ctx, "path", NULL, path) || (*path && !**path))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "http.fetch: 'path' must be a non-empty string");

    const json_t *t = weft_task_arg(ctx, "timeout_s");
    a->timeout_s = t ? json_number_value(t) : FETCH_DEFAULT_TIMEOUT_S;
    if (t && (!json_is_number(t) || a->timeout_s <= 0 || a->timeout_s > 86400))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "http.fetch: 'timeout_s' must be a number in (0, 86400]");
    if (!weft_task_int_arg(ctx, "max_bytes", FETCH_DEFAULT_MAX_BYTES, &a->max_bytes) ||
        a->max_bytes < 0)
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "http.fetch: 'max_bytes' must be an integer >= 0");
    a->shown_url = weft_redact_url(a->url);
    return WEFT_TASK_OK;
}

weft_task_result weft_task_http_fetch(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                      size_t errlen)
{
    fetch_args a = {0};
    const char *path = NULL;
    weft_task_result result = fetch_parse_args(ctx, &a, &path, errbuf, errlen);
    if (result != WEFT_TASK_OK)
        return result;

    char *default_path = weft_xasprintf(
        "fetch-%s.bin", ctx->activity_uid && *ctx->activity_uid ? ctx->activity_uid : "anon");
    char *abs = NULL, *content_type = NULL;
    result = weft_task_data_path(ctx, "http.fetch", path ? path : default_path, false, &abs, errbuf,
                                 errlen);
    if (result != WEFT_TASK_OK)
        goto out;

    weft_data_file df;
    result = weft_data_file_open(&df, "http.fetch", abs, errbuf, errlen);
    if (result != WEFT_TASK_OK)
        goto out;
    long status = 0;
    curl_off_t bytes = 0;
    result = fetch_into(&a, df.f, &status, &bytes, &content_type, errbuf, errlen);
    if (result != WEFT_TASK_OK) {
        weft_data_file_abort(&df);
        goto out;
    }
    result = weft_data_file_commit(&df, "http.fetch", errbuf, errlen);
    if (result != WEFT_TASK_OK)
        goto out;

    *output = json_object();
    json_object_set_new(*output, "path", json_string(abs));
    json_object_set_new(*output, "bytes", json_integer((json_int_t)bytes));
    json_object_set_new(*output, "status", json_integer(status));
    json_t *ct = content_type ? json_string(content_type) : NULL;
    json_object_set_new(*output, "content_type", ct ? ct : json_null());
out:
    free(content_type);
    free(abs);
    free(default_path);
    free(a.shown_url);
    return result;
}

/* s3.list, s3.get and s3.put (DESIGN §13): a bucket's listing over all its pages, an
 * object streamed into a file of the data dir, a file of the data dir streamed up. The
 * requests, their signing and their errors are s3.c's; the files are data_file.c's. */
#include "task_impl.h"

#include "alloc.h"
#include "data_file.h"
#include "s3.h"
#include "s3_xml.h"
#include "sha256.h"
#include "uuid.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define S3_MAX_KEY_BYTES 1024
#define S3_MAX_PAGE_SIZE 1000
/* A ListObjectsV2 page of 1000 keys is under 1 MiB; more is not S3. */
#define S3_MAX_PAGE_BYTES (32 * 1024 * 1024)
/* The most one PUT may carry; more takes a multipart upload, which s3.put does not do. */
#define S3_MAX_PUT_BYTES (5LL * 1024 * 1024 * 1024)

/* Reads and checks 'bucket', then 'key' and 'path' where they are asked for (not NULL;
 * 'path' is optional unless path_required), then the configuration into cfg: on
 * WEFT_TASK_OK the caller finishes cfg. */
static weft_task_result start_call(const weft_task_ctx *ctx, const char *task, const char **bucket,
                                   const char **key, const char **path, bool path_required,
                                   weft_s3_config *cfg, char *errbuf, size_t errlen)
{
    if (!weft_task_str_arg(ctx, "bucket", NULL, bucket) || !*bucket ||
        !weft_s3_bucket_valid(*bucket))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "%s: 'bucket' must be an S3 bucket name (3 to 63 of a-z, 0-9, "
                               "'.', '-')",
                               task);
    if (key && (!weft_task_str_arg(ctx, "key", NULL, key) || !*key || !**key ||
                strlen(*key) > S3_MAX_KEY_BYTES))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "%s: 'key' must be a non-empty string of at most %d bytes", task,
                               S3_MAX_KEY_BYTES);
    if (path && (!weft_task_str_arg(ctx, "path", NULL, path) || (*path && !**path) ||
                 (path_required && !*path)))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "%s: 'path' must be a non-empty string", task);
    return weft_s3_config_init(cfg, task, errbuf, errlen);
}

/* ---- s3.list ---- */

typedef struct {
    char *data;
    size_t len;
} page_buffer;

static bool keep_page(const char *data, size_t n, void *arg)
{
    page_buffer *b = arg;
    if (n > S3_MAX_PAGE_BYTES - b->len)
        return false;
    b->data = weft_xrealloc(b->data, b->len + n + 1);
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

/* The query of one ListObjectsV2 page, its parameters in SigV4's order (sorted by name). */
static char *list_query(const char *token, json_int_t page_size, const char *prefix)
{
    char *t = token ? weft_s3_uri_encode(token, false) : NULL;
    char *p = prefix && *prefix ? weft_s3_uri_encode(prefix, false) : NULL;
    char *q = weft_xasprintf("%s%s%slist-type=2&max-keys=%lld%s%s", t ? "continuation-token=" : "",
                             t ? t : "", t ? "&" : "", (long long)page_size, p ? "&prefix=" : "",
                             p ? p : "");
    free(t);
    free(p);
    return q;
}

/* The object of one Contents element, or NULL when it lacks a readable Key or Size. */
static json_t *listed_object(const char *body, size_t len)
{
    char *key = weft_s3_xml_text(body, len, "Key");
    char *size = weft_s3_xml_text(body, len, "Size");
    char *etag = weft_s3_xml_text(body, len, "ETag");
    json_t *obj = NULL, *k = key ? json_string(key) : NULL;
    char *end = NULL;
    long long n = size && *size ? strtoll(size, &end, 10) : -1;
    if (k && end && !*end && n >= 0) {
        const char *e = etag ? etag : "";
        size_t elen = strlen(e);
        if (elen >= 2 && e[0] == '"' && e[elen - 1] == '"') { /* S3 quotes its ETags */
            e++;
            elen -= 2;
        }
        obj = json_pack("{s:o, s:I, s:s%}", "key", k, "size", (json_int_t)n, "etag", e, elen);
        k = NULL;
    }
    json_decref(k);
    free(etag);
    free(size);
    free(key);
    return obj;
}

/* Appends the objects of one page to objects; sets *next (new) to the next page's token,
 * NULL after the last page. */
static weft_task_result parse_page(const page_buffer *b, const char *name, int page,
                                   json_t *objects, char **next, char *errbuf, size_t errlen)
{
    *next = NULL;
    const char *xml = b->data ? b->data : "";
    char *truncated = weft_s3_xml_text(xml, b->len, "IsTruncated");
    if (!truncated || (strcmp(truncated, "true") != 0 && strcmp(truncated, "false") != 0)) {
        free(truncated);
        return weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                               "s3.list: %s: page %d is not a ListObjectsV2 answer (no "
                               "IsTruncated)",
                               name, page);
    }
    bool more = strcmp(truncated, "true") == 0;
    free(truncated);
    const char *pos = xml, *body;
    size_t len;
    while (weft_s3_xml_next(&pos, xml + b->len, "Contents", &body, &len)) {
        json_t *obj = listed_object(body, len);
        if (!obj)
            return weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                   "s3.list: %s: page %d lists an object without a readable "
                                   "Key and Size",
                                   name, page);
        json_array_append_new(objects, obj);
    }
    if (more) {
        *next = weft_s3_xml_text(xml, b->len, "NextContinuationToken");
        if (!*next || !**next) {
            free(*next);
            *next = NULL;
            return weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                   "s3.list: %s: page %d is truncated but gives no "
                                   "NextContinuationToken",
                                   name, page);
        }
    }
    return WEFT_TASK_OK;
}

weft_task_result weft_task_s3_list(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                   size_t errlen)
{
    const char *bucket, *prefix;
    json_int_t page_size;
    if (!weft_task_str_arg(ctx, "prefix", NULL, &prefix) ||
        (prefix && strlen(prefix) > S3_MAX_KEY_BYTES))
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "s3.list: 'prefix' must be a string of at most %d bytes",
                               S3_MAX_KEY_BYTES);
    if (!weft_task_int_arg(ctx, "page_size", S3_MAX_PAGE_SIZE, &page_size) || page_size < 1 ||
        page_size > S3_MAX_PAGE_SIZE)
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "s3.list: 'page_size' must be an integer from 1 to %d",
                               S3_MAX_PAGE_SIZE);
    weft_s3_config cfg;
    weft_task_result result =
        start_call(ctx, "s3.list", &bucket, NULL, NULL, false, &cfg, errbuf, errlen);
    if (result != WEFT_TASK_OK)
        return result;

    char *name = weft_s3_name(bucket, NULL), *token = NULL;
    json_t *objects = json_array();
    for (int page = 1; result == WEFT_TASK_OK; page++) {
        page_buffer b = {NULL, 0};
        char *query = list_query(token, page_size, prefix);
        weft_s3_request req = {
            .method = "GET", .bucket = bucket, .query = query, .sink = keep_page, .sink_arg = &b};
        weft_s3_response resp;
        result = weft_s3_perform(&cfg, "s3.list", &req, &resp, errbuf, errlen);
        char *next = NULL;
        if (result == WEFT_TASK_OK)
            result = parse_page(&b, name, page, objects, &next, errbuf, errlen);
        /* a server that hands back the token it was given would list for ever */
        if (result == WEFT_TASK_OK && next && token && strcmp(next, token) == 0)
            result =
                weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                "s3.list: %s: page %d repeats its continuation token", name, page);
        free(b.data);
        free(query);
        free(token);
        token = next;
        if (!token)
            break;
    }
    if (result == WEFT_TASK_OK)
        *output = json_pack("{s:O}", "objects", objects);
    json_decref(objects);
    free(token);
    free(name);
    weft_s3_config_finish(&cfg);
    return result;
}

/* ---- s3.get ---- */

typedef struct {
    FILE *f;
    weft_sha256 sha;
    long long bytes;
    int write_errno; /* why fwrite failed */
} object_sink;

static bool write_object(const char *data, size_t n, void *arg)
{
    object_sink *s = arg;
    if (fwrite(data, 1, n, s->f) != n) {
        s->write_errno = errno;
        return false;
    }
    weft_sha256_update(&s->sha, data, n);
    s->bytes += (long long)n;
    return true;
}

/* The data-dir path s3.get writes to when no 'path' is given: the key's base name in a
 * folder of the workflow's own, created here. *out is new (caller frees). */
static weft_task_result default_get_path(const weft_task_ctx *ctx, const char *key, char **out,
                                         char *errbuf, size_t errlen)
{
    const char *base = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0 || strlen(base) > NAME_MAX)
        return weft_task_error(errbuf, errlen, WEFT_TASK_PERMANENT,
                               "s3.get: key '%s' has no base name to save it under: give 'path'",
                               key);
    const char *folder =
        ctx->workflow_uid && weft_uuid_valid(ctx->workflow_uid) ? ctx->workflow_uid : "anon";
    if (ctx->data_dir && *ctx->data_dir) {
        char *dir = weft_xasprintf("%s/%s", ctx->data_dir, folder);
        int rc = mkdir(dir, 0755), e = errno;
        free(dir);
        if (rc != 0 && e != EEXIST)
            return weft_task_error(errbuf, errlen, weft_task_errno_result(e),
                                   "s3.get: cannot create the workflow's folder '%s' in the "
                                   "data dir: %s",
                                   folder, strerror(e));
    }
    char *rel = weft_xasprintf("%s/%s", folder, base);
    weft_task_result result = weft_task_data_path(ctx, "s3.get", rel, false, out, errbuf, errlen);
    free(rel);
    return result;
}

weft_task_result weft_task_s3_get(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                  size_t errlen)
{
    const char *bucket, *key, *path;
    weft_s3_config cfg;
    weft_task_result result =
        start_call(ctx, "s3.get", &bucket, &key, &path, false, &cfg, errbuf, errlen);
    if (result != WEFT_TASK_OK)
        return result;

    char *abs = NULL;
    result = path ? weft_task_data_path(ctx, "s3.get", path, false, &abs, errbuf, errlen)
                  : default_get_path(ctx, key, &abs, errbuf, errlen);
    weft_data_file df;
    if (result == WEFT_TASK_OK)
        result = weft_data_file_open(&df, "s3.get", abs, errbuf, errlen);
    if (result != WEFT_TASK_OK) {
        free(abs);
        weft_s3_config_finish(&cfg);
        return result;
    }

    object_sink sink = {df.f, {NULL}, 0, 0};
    weft_sha256_init(&sink.sha);
    weft_s3_request req = {
        .method = "GET", .bucket = bucket, .key = key, .sink = write_object, .sink_arg = &sink};
    weft_s3_response resp;
    result = weft_s3_perform(&cfg, "s3.get", &req, &resp, errbuf, errlen);
    if (result != WEFT_TASK_OK && sink.write_errno)
        result =
            weft_task_error(errbuf, errlen, weft_task_errno_result(sink.write_errno),
                            "s3.get: writing '%s' failed: %s", abs, strerror(sink.write_errno));
    char sha[WEFT_SHA256_HEX_LEN + 1];
    if (result == WEFT_TASK_OK) {
        weft_sha256_final_hex(&sink.sha, sha);
        result = weft_data_file_commit(&df, "s3.get", errbuf, errlen);
    } else {
        weft_sha256_finish(&sink.sha);
        weft_data_file_abort(&df);
    }
    if (result == WEFT_TASK_OK)
        *output = json_pack("{s:s, s:I, s:s, s:s}", "path", abs, "bytes", (json_int_t)sink.bytes,
                            "etag", resp.etag, "sha256", sha);
    free(abs);
    weft_s3_config_finish(&cfg);
    return result;
}

/* ---- s3.put ---- */

weft_task_result weft_task_s3_put(const weft_task_ctx *ctx, json_t **output, char *errbuf,
                                  size_t errlen)
{
    const char *bucket, *key, *path;
    weft_s3_config cfg;
    weft_task_result result =
        start_call(ctx, "s3.put", &bucket, &key, &path, true, &cfg, errbuf, errlen);
    if (result != WEFT_TASK_OK)
        return result;

    char *abs = NULL;
    FILE *f = NULL;
    long long size = 0, hashed = 0;
    char sha[WEFT_SHA256_HEX_LEN + 1];
    int fd = -1;
    result = weft_task_data_path(ctx, "s3.put", path, true, &abs, errbuf, errlen);
    if (result == WEFT_TASK_OK)
        result = weft_task_open_input("s3.put", abs, path, S3_MAX_PUT_BYTES,
                                      "the most one PUT may carry", &fd, &size, errbuf, errlen);
    if (result == WEFT_TASK_OK && !(f = fdopen(fd, "rb"))) {
        result = weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT, "s3.put: '%s': %s", path,
                                 strerror(errno));
        close(fd);
    }
    /* The payload's hash is signed, so S3 refuses a body that differs from the file read
     * here (XAmzContentSHA256Mismatch): the price is reading the file twice. */
    if (result == WEFT_TASK_OK && !weft_sha256_fd_hex(fileno(f), sha, &hashed))
        result = weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                 "s3.put: reading '%s' failed: %s", path, strerror(errno));
    if (result == WEFT_TASK_OK && (hashed != size || fseeko(f, 0, SEEK_SET) != 0))
        result = weft_task_error(errbuf, errlen, WEFT_TASK_TRANSIENT,
                                 "s3.put: '%s' changed while it was read", path);
    weft_s3_response resp;
    if (result == WEFT_TASK_OK) {
        weft_s3_request req = {.method = "PUT",
                               .bucket = bucket,
                               .key = key,
                               .payload_sha256 = sha,
                               .upload = f,
                               .upload_bytes = size};
        result = weft_s3_perform(&cfg, "s3.put", &req, &resp, errbuf, errlen);
    }
    if (result == WEFT_TASK_OK)
        *output = json_pack("{s:s, s:I, s:s}", "etag", resp.etag, "bytes", (json_int_t)size,
                            "sha256", sha);
    if (f)
        fclose(f);
    free(abs);
    weft_s3_config_finish(&cfg);
    return result;
}

/* Requests to S3 (or a server that speaks its API) signed with AWS Signature V4, for the
 * built-in s3.* tasks (task_s3.c).
 *
 * Configuration comes only from the worker's environment, read again by each task:
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (optional, sent as
 * x-amz-security-token), AWS_REGION (default us-east-1) and WEFT_S3_ENDPOINT (a
 * path-style base URL such as http://127.0.0.1:9000; default https://s3.REGION.amazonaws.com).
 * Never from a definition: a workflow names a bucket and a key, not whose keys sign for
 * them. The secret key and the session token go to libcurl and nowhere else: no message
 * built here holds them, and messages name an object as s3://bucket/key, not by URL.
 *
 * A request is one HTTP exchange: a method, a bucket, a key or none, a canonical query.
 * libcurl signs it (CURLOPT_AWS_SIGV4) over the path and query exactly as sent, so both
 * are built here already in SigV4's canonical form (weft_s3_uri_encode, parameters sorted)
 * and curl is told not to touch the path; the payload's hash is the caller's
 * (x-amz-content-sha256: the empty body's hash, or a file's). A 2xx body goes to the
 * caller's sink as it arrives; any other body is S3's XML error, kept (at most 64 KiB) to
 * name it. Outcomes:
 *   2xx                                          WEFT_TASK_OK
 *   5xx, 408, 429, and the codes SlowDown, Throttling, RequestTimeout, InternalError,
 *   ServiceUnavailable, XAmzContentSHA256Mismatch, BadDigest; a refused connection, a
 *   timeout, a reset, a stall (no byte for S3_STALL_S)          WEFT_TASK_TRANSIENT
 *   any other answer (403 AccessDenied or SignatureDoesNotMatch, 404 NoSuchKey or
 *   NoSuchBucket, 301 PermanentRedirect, 400 ...); a bad endpoint  WEFT_TASK_PERMANENT
 * and the error reads "TASK: METHOD s3://bucket/key answered 404 NoSuchKey: MESSAGE". */
#ifndef WEFT_S3_H
#define WEFT_S3_H

#include "task.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define WEFT_S3_DEFAULT_REGION "us-east-1"
/* The SHA-256 of an empty payload, the x-amz-content-sha256 of a request with no body. */
#define WEFT_S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct {
    const char *access_key_id;     /* borrowed from the environment */
    const char *secret_access_key; /* borrowed from the environment; never put in text */
    const char *session_token;     /* borrowed from the environment; NULL: none */
    char *region;                  /* new */
    char *endpoint;                /* new: scheme://host[:port], no trailing '/' */
} weft_s3_config;

/* Reads the configuration from the environment into cfg (the caller's memory). A missing
 * AWS_ACCESS_KEY_ID or AWS_SECRET_ACCESS_KEY, a region that is not [a-z0-9-], an endpoint
 * that is not an http(s) URL of a host alone (no user, path, query): PERMANENT, naming the
 * variable, errbuf prefixed with task; cfg then holds nothing to finish. */
weft_task_result weft_s3_config_init(weft_s3_config *cfg, const char *task, char *errbuf,
                                     size_t errlen);
/* Frees what init allocated; accepts a zeroed cfg. */
void weft_s3_config_finish(weft_s3_config *cfg);

/* s percent-encoded as SigV4 canonicalizes a URI: every byte but A-Z a-z 0-9 - _ . ~ as
 * %XX (uppercase), and '/' kept when keep_slash (an object key in a path). New string. */
char *weft_s3_uri_encode(const char *s, bool keep_slash);

/* Whether bucket is an S3 bucket name (3 to 63 of a-z 0-9 . -, a letter or digit at
 * each end), the only names that may go into a path unencoded. */
bool weft_s3_bucket_valid(const char *bucket);

/* What an answer's status and S3 error code (may be NULL) make of the request. */
weft_task_result weft_s3_status_result(long status, const char *code);

/* Receives n bytes (borrowed) of a 2xx body. false stops the transfer: weft_s3_perform
 * then returns TRANSIENT with a general reason, which the caller, knowing why its sink
 * refused, may overwrite. */
typedef bool weft_s3_sink(const char *data, size_t n, void *arg);

typedef struct {
    const char *method;         /* "GET" or "PUT" */
    const char *bucket;         /* checked with weft_s3_bucket_valid */
    const char *key;            /* NULL: the bucket itself */
    const char *query;          /* canonical (encoded, sorted by name) or NULL */
    const char *payload_sha256; /* x-amz-content-sha256; NULL: WEFT_S3_EMPTY_SHA256 */
    weft_s3_sink *sink;         /* the 2xx body; NULL: dropped */
    void *sink_arg;
    FILE *upload; /* PUT: the body, upload_bytes of it from its position */
    long long upload_bytes;
} weft_s3_request;

typedef struct {
    long status;   /* the HTTP status; 0 when no answer came */
    char etag[80]; /* the ETag header without its quotes; "" when there was none */
} weft_s3_response;

/* Performs req (borrowed) with cfg (borrowed) and fills *resp. Returns as the header says;
 * errbuf (prefixed with task) says why on failure. Thread-safe: each call has its own
 * libcurl handle (weft_tasks_global_init has run curl_global_init). */
weft_task_result weft_s3_perform(const weft_s3_config *cfg, const char *task,
                                 const weft_s3_request *req, weft_s3_response *resp, char *errbuf,
                                 size_t errlen);

/* "s3://bucket/key" (key NULL: "s3://bucket"), how messages name an object. New string. */
char *weft_s3_name(const char *bucket, const char *key);

#endif

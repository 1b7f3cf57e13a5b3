/* An HTTP server over libmicrohttpd for weft's endpoints (/metrics, /healthz, the API and
 * the dashboard): it binds HOST:PORT, reads each request whole (its body up to a limit) and
 * hands it to one handler, which fills in a response.
 *
 * The model. libmicrohttpd runs a thread per connection (at most WEFT_HTTP_MAX_CONNECTIONS
 * at once, each closed after WEFT_HTTP_TIMEOUT_S idle), so a handler may block on Postgres
 * or a broker confirm without stalling the others; a handler must therefore be thread-safe.
 * A body over max_body is answered 413 by the server itself (at once when Content-Length
 * says so, else once it was read and dropped), so a handler never sees it. The handler is
 * called once per request, after its body arrived.
 *
 * Ownership: request fields are borrowed for the call. The response's body is owned by the
 * response (weft_http_respond copies it; weft_http_respond_take takes a malloc'd one) and
 * freed by the server once sent; header names and values given to weft_http_header are
 * copied. */
#ifndef WEFT_HTTP_SERVER_H
#define WEFT_HTTP_SERVER_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>

#define WEFT_HTTP_MAX_CONNECTIONS 64
#define WEFT_HTTP_TIMEOUT_S 30
#define WEFT_HTTP_MAX_HEADERS 6

typedef struct weft_http_server weft_http_server;

typedef struct {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* without the query */
    const char *body;   /* NUL-terminated; "" when none */
    size_t len;
    void *conn; /* the libmicrohttpd connection, for weft_http_query/weft_http_request_header */
} weft_http_request;

typedef struct {
    int status;               /* 0 until set: the server answers 500 */
    const char *content_type; /* borrowed, static */
    char *body;               /* owned */
    size_t len;
    size_t nheaders;
    char *headers[WEFT_HTTP_MAX_HEADERS][2]; /* owned name, value */
} weft_http_response;

typedef void (*weft_http_handler)(void *ctx, const weft_http_request *req, weft_http_response *res);

/* Binds addr (borrowed; "HOST:PORT", "[V6]:PORT" or ":PORT" for every interface; port 0
 * picks a free one) and serves handler(ctx) until weft_http_stop. what (static) names the
 * server in log lines ("metrics", "api"). *out is new. WEFT_EINVAL for a malformed address
 * or one that cannot be bound (in use, not local), naming it. */
weft_status weft_http_start(const char *what, const char *addr, size_t max_body,
                            weft_http_handler handler, void *ctx, weft_http_server **out,
                            weft_err *err);

/* The port bound (the one picked for port 0). */
int weft_http_port(const weft_http_server *s);

/* Stops taking connections, waits for the running handlers and frees s; accepts NULL. */
void weft_http_stop(weft_http_server *s);

/* Whether addr (borrowed) is a HOST:PORT weft_http_start can parse, port 0..65535. */
bool weft_http_addr_valid(const char *addr);

/* The value of a query parameter or a request header (borrowed for the call), or NULL. */
const char *weft_http_query(const weft_http_request *req, const char *name);
const char *weft_http_request_header(const weft_http_request *req, const char *name);

/* Sets status, content type (static) and a copy of body (len bytes). */
void weft_http_respond(weft_http_response *res, int status, const char *content_type,
                       const char *body, size_t len);
/* As weft_http_respond, taking body (malloc'd; NULL for none). */
void weft_http_respond_take(weft_http_response *res, int status, const char *content_type,
                            char *body, size_t len);
/* Adds a response header (both copied); past WEFT_HTTP_MAX_HEADERS it is dropped. */
void weft_http_header(weft_http_response *res, const char *name, const char *value);
/* status with the body {"error": message} (message borrowed). */
void weft_http_error(weft_http_response *res, int status, const char *message);

#endif

#include "http_server.h"

#include "alloc.h"
#include "config.h"
#include "log.h"

#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct weft_http_server {
    struct MHD_Daemon *daemon;
    const char *what;
    size_t max_body;
    weft_http_handler handler;
    void *ctx;
    int port;
};

/* One request being read: its body so far, or that it went over the limit. */
typedef struct {
    char *body;
    size_t len;
    bool too_big;
} pending;

/* HOST:PORT into host (maybe "" for any) and port; false when malformed. */
static bool split_addr(const char *addr, char *host, size_t hostsize, char *port, size_t portsize)
{
    if (!addr)
        return false;
    const char *colon = strrchr(addr, ':');
    if (!colon)
        return false;
    const char *h = addr;
    size_t hn = (size_t)(colon - addr);
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    } else if (memchr(h, ':', hn)) {
        return false; /* an IPv6 address needs its brackets */
    }
    long p;
    if (hn >= hostsize || strlen(colon + 1) >= portsize || !weft_parse_int(colon + 1, 0, 65535, &p))
        return false;
    memcpy(host, h, hn);
    host[hn] = '\0';
    snprintf(port, portsize, "%ld", p);
    return true;
}

bool weft_http_addr_valid(const char *addr)
{
    char host[256], port[8];
    return split_addr(addr, host, sizeof host, port, sizeof port);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    weft_http_server *s = cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\r\n")] = '\0';
    WEFT_LOG(WEFT_LOG_WARN, NULL, NULL, "%s http: %s", s->what, line);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, weft_http_response *res)
{
    if (res->status == 0)
        weft_http_error(res, 500, "the handler gave no answer");
    struct MHD_Response *r =
        MHD_create_response_from_buffer(res->len, res->body, MHD_RESPMEM_MUST_FREE);
    res->body = NULL; /* the response frees it now */
    enum MHD_Result ok = MHD_NO;
    if (r) {
        if (res->content_type)
            MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
        for (size_t i = 0; i < res->nheaders; i++)
            MHD_add_response_header(r, res->headers[i][0], res->headers[i][1]);
        ok = MHD_queue_response(conn, (unsigned)res->status, r);
        MHD_destroy_response(r);
    }
    for (size_t i = 0; i < res->nheaders; i++) {
        free(res->headers[i][0]);
        free(res->headers[i][1]);
    }
    return ok;
}

static enum MHD_Result too_big(weft_http_server *s, struct MHD_Connection *conn)
{
    char msg[160];
    snprintf(msg, sizeof msg, "request body over the limit of %zu bytes (WEFT_MAX_MESSAGE_BYTES)",
             s->max_body);
    weft_http_response res = {0};
    weft_http_error(&res, 413, msg);
    /* what is left of the body is not read: the connection closes after the answer */
    weft_http_header(&res, MHD_HTTP_HEADER_CONNECTION, "close");
    return send_response(conn, &res);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    weft_http_server *s = cls;
    pending *p = *con_cls;
    if (!p) {
        /* the headers: refuse a declared oversize body before reading any of it */
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->max_body)
            return too_big(s, conn);
        *con_cls = weft_xcalloc(1, sizeof(pending));
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!p->too_big && p->len + *upload_data_size <= s->max_body) {
            p->body = weft_xrealloc(p->body, p->len + *upload_data_size + 1);
            memcpy(p->body + p->len, upload_data, *upload_data_size);
            p->len += *upload_data_size;
            p->body[p->len] = '\0';
        } else {
            p->too_big = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (p->too_big)
        return too_big(s, conn);
    weft_http_request req = {method, url, p->body ? p->body : "", p->len, conn};
    weft_http_response res = {0};
    s->handler(s->ctx, &req, &res);
    return send_response(conn, &res);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    pending *p = *con_cls;
    if (p) {
        free(p->body);
        free(p);
        *con_cls = NULL;
    }
}

weft_status weft_http_start(const char *what, const char *addr, size_t max_body,
                            weft_http_handler handler, void *ctx, weft_http_server **out,
                            weft_err *err)
{
    char host[256], port[8];
    *out = NULL;
    if (!split_addr(addr, host, sizeof host, port, sizeof port))
        return weft_err_set(err, WEFT_EINVAL, "%s: '%s' is not HOST:PORT", what, addr ? addr : "");
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE},
                    *ai = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (rc != 0)
        return weft_err_set(err, WEFT_EINVAL, "%s: cannot resolve '%s': %s", what, addr,
                            gai_strerror(rc));
    weft_http_server *s = weft_xcalloc(1, sizeof *s);
    s->what = what;
    s->max_body = max_body;
    s->handler = handler;
    s->ctx = ctx;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    /* the logger first: libmicrohttpd reports problems with the later options through it */
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                                 mhd_log, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEFT_HTTP_MAX_CONNECTIONS,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEFT_HTTP_TIMEOUT_S,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        free(s);
        return weft_err_set(err, WEFT_EINVAL,
                            "%s: cannot serve HTTP on '%s' (address in use or not this host's)",
                            what, addr);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : atoi(port);
    WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "%s: serving HTTP on %s (port %d)", what, addr, s->port);
    *out = s;
    return WEFT_OK;
}

int weft_http_port(const weft_http_server *s)
{
    return s->port;
}

void weft_http_stop(weft_http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}

const char *weft_http_query(const weft_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *weft_http_request_header(const weft_http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void weft_http_respond_take(weft_http_response *res, int status, const char *content_type,
                            char *body, size_t len)
{
    free(res->body);
    res->status = status;
    res->content_type = content_type;
    res->body = body;
    res->len = body ? len : 0;
}

void weft_http_respond(weft_http_response *res, int status, const char *content_type,
                       const char *body, size_t len)
{
    weft_http_respond_take(res, status, content_type, weft_xstrndup(body, len), len);
}

void weft_http_header(weft_http_response *res, const char *name, const char *value)
{
    if (res->nheaders == WEFT_HTTP_MAX_HEADERS)
        return;
    res->headers[res->nheaders][0] = weft_xstrdup(name);
    res->headers[res->nheaders][1] = weft_xstrdup(value);
    res->nheaders++;
}

void weft_http_error(weft_http_response *res, int status, const char *message)
{
    json_t *o = json_pack("{s:s}", "error", message);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    /* jansson refuses text that is not UTF-8: the status still goes out */
    if (!text)
        text = weft_xstrdup("{\"error\":\"unprintable error\"}");
    weft_http_respond_take(res, status, "application/json", text, strlen(text));
}

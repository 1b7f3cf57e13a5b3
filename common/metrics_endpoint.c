#include "metrics_endpoint.h"

#include "telemetry.h"

#include <string.h>

/* GET requests carry no body: the smallest limit the server takes does */
#define METRICS_MAX_BODY 1024

static void handle(void *ctx, const weft_http_request *req, weft_http_response *res)
{
    bool metrics = strcmp(req->path, "/metrics") == 0;
    bool health = strcmp(req->path, "/healthz") == 0;
    if (!metrics && !health) {
        weft_http_error(res, 404, "no such path: /metrics and /healthz are served here");
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        weft_http_error(res, 405, "only GET");
        weft_http_header(res, "Allow", "GET, HEAD");
        return;
    }
    if (metrics) {
        size_t len;
        char *text = weft_metrics_render(weft_telemetry_registry(), &len);
        weft_http_respond_take(res, 200, WEFT_METRICS_CONTENT_TYPE, text, len);
    } else if (weft_telemetry_healthy()) {
        weft_http_respond(res, 200, "text/plain; charset=utf-8", "ok\n", 3);
    } else {
        static const char down[] = "not connected to the broker\n";
        weft_http_respond(res, 503, "text/plain; charset=utf-8", down, sizeof down - 1);
    }
    weft_http_header(res, "Cache-Control", "no-store");
}

weft_status weft_metrics_endpoint_start(const char *addr, weft_http_server **out, weft_err *err)
{
    return weft_http_start("metrics", addr, METRICS_MAX_BODY, handle, NULL, out, err);
}

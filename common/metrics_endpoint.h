/* The --metrics endpoint of every consumer (DESIGN §14): GET /metrics serves the process's
 * registry (telemetry.h) in Prometheus text format; GET /healthz answers 200 while every
 * consumer of the process is connected to the broker (weft_telemetry_healthy), 503
 * otherwise, for an HTTP readiness probe. Anything else is 404, another method 405. No
 * token: it tells counts, never a workflow's data; bind it to an address that only the
 * scraper reaches. */
#ifndef WEFT_METRICS_ENDPOINT_H
#define WEFT_METRICS_ENDPOINT_H

#include "http_server.h"

/* Serves on addr (borrowed, HOST:PORT); *out is new, stopped with weft_http_stop.
 * WEFT_EINVAL when the address is malformed or cannot be bound. */
weft_status weft_metrics_endpoint_start(const char *addr, weft_http_server **out, weft_err *err);

#endif

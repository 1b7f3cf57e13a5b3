/* Prometheus metrics: a registry of metric families and their text exposition (format
 * 0.0.4, what every Prometheus server scrapes).
 *
 * The model. A family has a name, a help line, a type (counter, gauge, histogram) and fixed
 * label names; it holds one series per distinct tuple of label values, created on its first
 * use and never removed, so label values must come from a small bounded set (task types,
 * queue names, services). A family holds at most WEFT_METRICS_MAX_SERIES series; what would
 * make one more is dropped (and logged once), so a bug cannot grow memory without bound. A
 * histogram's upper bounds are fixed at registration; its buckets are rendered cumulative
 * with the implicit le="+Inf" one, then _sum and _count.
 *
 * Invariants: a counter never goes down (weft_metric_add of a negative or NaN amount to a
 * counter is ignored); names follow [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* (registration refuses others: a programming error, so it aborts).
 *
 * Threads: every call may come from any thread. One mutex per family guards its series; the
 * hot path (one add or observe per attempt or handoff) is a lookup among a few series and
 * an update under that mutex. A scrape renders one family at a time, each consistent.
 *
 * Ownership: the registry owns its families; a family pointer is borrowed, valid until
 * weft_metrics_destroy. Label values passed in are borrowed and copied when a series is
 * made. */
#ifndef WEFT_METRICS_H
#define WEFT_METRICS_H

#include <stddef.h>

#define WEFT_METRICS_MAX_LABELS 4
#define WEFT_METRICS_MAX_SERIES 512
#define WEFT_METRICS_MAX_BUCKETS 32

typedef struct weft_metrics weft_metrics;
typedef struct weft_metric weft_metric;

typedef enum { WEFT_METRIC_COUNTER, WEFT_METRIC_GAUGE, WEFT_METRIC_HISTOGRAM } weft_metric_type;

/* A new empty registry; free with weft_metrics_destroy (accepts NULL). */
weft_metrics *weft_metrics_create(void);
void weft_metrics_destroy(weft_metrics *r);

/* Registers a family in r: name and help (borrowed, copied), nlabels label names (borrowed,
 * copied; at most WEFT_METRICS_MAX_LABELS), and for a histogram nbuckets strictly rising
 * finite upper bounds (copied; ignored for the other types). A family without labels
 * starts with its one series at 0, so it is rendered before its first event. Returns the
 * family (borrowed). Aborts on a malformed name or a name registered twice. */
weft_metric *weft_metrics_register(weft_metrics *r, weft_metric_type type, const char *name,
                                   const char *help, size_t nlabels, const char *const *labels,
                                   size_t nbuckets, const double *bounds);

/* Counter or gauge: adds amount to the series of values (nlabels strings, borrowed; NULL
 * for a family without labels). A NULL value is rendered as "". */
void weft_metric_add(weft_metric *m, const char *const *values, double amount);

/* Gauge: sets the series to value. */
void weft_metric_set(weft_metric *m, const char *const *values, double value);

/* Histogram: records one observation in the series. */
void weft_metric_observe(weft_metric *m, const char *const *values, double value);

/* Counter or gauge: the series' value; 0 when it does not exist. Histogram: its count. */
double weft_metric_value(weft_metric *m, const char *const *values);

/* The text exposition of every family, in registration order: a new NUL-terminated
 * string the caller frees, *len its length. */
char *weft_metrics_render(weft_metrics *r, size_t *len);

/* The content type of what weft_metrics_render writes (static). */
#define WEFT_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif

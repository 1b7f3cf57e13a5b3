#include "metrics.h"

#include "alloc.h"
#include "log.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *values[WEFT_METRICS_MAX_LABELS]; /* owned */
    double value;                          /* counter, gauge; histogram: sum */
    uint64_t count;                        /* histogram */
    uint64_t *buckets;                     /* histogram: per bucket, not cumulative; owned */
} series;

struct weft_metric {
    weft_metric_type type;
    char *name, *help; /* owned */
    size_t nlabels;
    char *labels[WEFT_METRICS_MAX_LABELS]; /* owned */
    size_t nbuckets;
    double bounds[WEFT_METRICS_MAX_BUCKETS];
    pthread_mutex_t mu;
    series *series; /* owned */
    size_t n, cap;
    bool overflow_logged;
    weft_metric *next;
};

struct weft_metrics {
    pthread_mutex_t mu; /* guards the family list */
    weft_metric *first, *last;
};

weft_metrics *weft_metrics_create(void)
{
    weft_metrics *r = weft_xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void weft_metrics_destroy(weft_metrics *r)
{
    if (!r)
        return;
    weft_metric *m = r->first;
    while (m) {
        weft_metric *next = m->next;
        for (size_t i = 0; i < m->n; i++) {
            for (size_t k = 0; k < m->nlabels; k++)
                free(m->series[i].values[k]);
            free(m->series[i].buckets);
        }
        for (size_t k = 0; k < m->nlabels; k++)
            free(m->labels[k]);
        free(m->series);
        free(m->name);
        free(m->help);
        pthread_mutex_destroy(&m->mu);
        free(m);
        m = next;
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static bool valid_name(const char *s, bool colon)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (colon && *s == ':')))
            return false;
    return true;
}

/* Finds or makes the series of values; called with m->mu held. NULL when the family is full. */
static series *series_of(weft_metric *m, const char *const *values)
{
    for (size_t i = 0; i < m->n; i++) {
        size_t k = 0;
        while (k < m->nlabels && strcmp(m->series[i].values[k], values[k] ? values[k] : "") == 0)
            k++;
        if (k == m->nlabels)
            return &m->series[i];
    }
    if (m->n == WEFT_METRICS_MAX_SERIES) {
        if (!m->overflow_logged)
            WEFT_LOG(WEFT_LOG_WARN, NULL, NULL,
                     "metric %s has %d series, its most: new label values are not counted", m->name,
                     WEFT_METRICS_MAX_SERIES);
        m->overflow_logged = true;
        return NULL;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->series = weft_xrealloc(m->series, m->cap * sizeof *m->series);
    }
    series *s = &m->series[m->n++];
    memset(s, 0, sizeof *s);
    for (size_t k = 0; k < m->nlabels; k++)
        s->values[k] = weft_xstrdup(values[k] ? values[k] : "");
    if (m->type == WEFT_METRIC_HISTOGRAM)
        s->buckets = weft_xcalloc(m->nbuckets ? m->nbuckets : 1, sizeof *s->buckets);
    return s;
}

weft_metric *weft_metrics_register(weft_metrics *r, weft_metric_type type, const char *name,
                                   const char *help, size_t nlabels, const char *const *labels,
                                   size_t nbuckets, const double *bounds)
{
    if (!valid_name(name, true) || nlabels > WEFT_METRICS_MAX_LABELS ||
        (type == WEFT_METRIC_HISTOGRAM && nbuckets > WEFT_METRICS_MAX_BUCKETS))
        abort();
    weft_metric *m = weft_xcalloc(1, sizeof *m);
    m->type = type;
    m->name = weft_xstrdup(name);
    m->help = weft_xstrdup(help ? help : "");
    m->nlabels = nlabels;
    for (size_t k = 0; k < nlabels; k++) {
        /* "le" belongs to the histogram's buckets */
        if (!valid_name(labels[k], false) || strcmp(labels[k], "le") == 0)
            abort();
        m->labels[k] = weft_xstrdup(labels[k]);
    }
    if (type == WEFT_METRIC_HISTOGRAM) {
        for (size_t i = 0; i < nbuckets; i++)
            if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
                abort();
        m->nbuckets = nbuckets;
        if (nbuckets)
            memcpy(m->bounds, bounds, nbuckets * sizeof *bounds);
    }
    pthread_mutex_init(&m->mu, NULL);
    if (nlabels == 0)
        series_of(m, NULL);
    pthread_mutex_lock(&r->mu);
    for (weft_metric *o = r->first; o; o = o->next)
        if (strcmp(o->name, name) == 0)
            abort();
    if (r->last)
        r->last->next = m;
    else
        r->first = m;
    r->last = m;
    pthread_mutex_unlock(&r->mu);
    return m;
}

void weft_metric_add(weft_metric *m, const char *const *values, double amount)
{
    if (m->type == WEFT_METRIC_HISTOGRAM || (m->type == WEFT_METRIC_COUNTER && !(amount >= 0)))
        return;
    pthread_mutex_lock(&m->mu);
    series *s = series_of(m, values);
    if (s)
        s->value += amount;
    pthread_mutex_unlock(&m->mu);
}

void weft_metric_set(weft_metric *m, const char *const *values, double value)
{
    if (m->type != WEFT_METRIC_GAUGE)
        return;
    pthread_mutex_lock(&m->mu);
    series *s = series_of(m, values);
    if (s)
        s->value = value;
    pthread_mutex_unlock(&m->mu);
}

void weft_metric_observe(weft_metric *m, const char *const *values, double value)
{
    if (m->type != WEFT_METRIC_HISTOGRAM || isnan(value))
        return;
    /* the first bucket whose bound holds value; past the last: only +Inf (count) */
    size_t b = 0;
    while (b < m->nbuckets && value > m->bounds[b])
        b++;
    pthread_mutex_lock(&m->mu);
    series *s = series_of(m, values);
    if (s) {
        if (b < m->nbuckets)
            s->buckets[b]++;
        s->count++;
        s->value += value;
    }
    pthread_mutex_unlock(&m->mu);
}

double weft_metric_value(weft_metric *m, const char *const *values)
{
    double v = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++) {
        size_t k = 0;
        while (k < m->nlabels && strcmp(m->series[i].values[k], values[k] ? values[k] : "") == 0)
            k++;
        if (k == m->nlabels) {
            v = m->type == WEFT_METRIC_HISTOGRAM ? (double)m->series[i].count : m->series[i].value;
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return v;
}

/* A number as the format writes it: +Inf, -Inf, NaN, or the shortest text that reads back
 * as the same double. */
static void put_number(FILE *f, double v)
{
    if (isnan(v)) {
        fputs("NaN", f);
        return;
    }
    if (isinf(v)) {
        fputs(v > 0 ? "+Inf" : "-Inf", f);
        return;
    }
    char buf[40];
    /* whole numbers as integers: a bucket reads le="10", not le="1e+01" */
    if (v == floor(v) && fabs(v) < 1e15) {
        fprintf(f, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

/* HELP text escapes backslash and newline; label values also the double quote. */
static void put_escaped(FILE *f, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (quote && *s == '"')
            fputs("\\\"", f);
        else
            fputc(*s, f);
    }
}

/* {a="x",b="y"[,le="..."]}, nothing when there is no label at all. */
static void put_labels(FILE *f, const weft_metric *m, const series *s, const double *le)
{
    if (m->nlabels == 0 && !le)
        return;
    fputc('{', f);
    for (size_t k = 0; k < m->nlabels; k++) {
        fprintf(f, "%s%s=\"", k ? "," : "", m->labels[k]);
        put_escaped(f, s->values[k], true);
        fputc('"', f);
    }
    if (le) {
        fprintf(f, "%sle=\"", m->nlabels ? "," : "");
        put_number(f, *le);
        fputc('"', f);
    }
    fputc('}', f);
}

static void render_family(FILE *f, weft_metric *m)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    fprintf(f, "# HELP %s ", m->name);
    put_escaped(f, m->help, false);
    fprintf(f, "\n# TYPE %s %s\n", m->name, types[m->type]);
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n; i++) {
        const series *s = &m->series[i];
        if (m->type != WEFT_METRIC_HISTOGRAM) {
            fputs(m->name, f);
            put_labels(f, m, s, NULL);
            fputc(' ', f);
            put_number(f, s->value);
            fputc('\n', f);
            continue;
        }
        uint64_t cumulative = 0;
        for (size_t b = 0; b <= m->nbuckets; b++) {
            double le = b < m->nbuckets ? m->bounds[b] : INFINITY;
            cumulative = b < m->nbuckets ? cumulative + s->buckets[b] : s->count;
            fprintf(f, "%s_bucket", m->name);
            put_labels(f, m, s, &le);
            fprintf(f, " %llu\n", (unsigned long long)cumulative);
        }
        fprintf(f, "%s_sum", m->name);
        put_labels(f, m, s, NULL);
        fputc(' ', f);
        put_number(f, s->value);
        fprintf(f, "\n%s_count", m->name);
        put_labels(f, m, s, NULL);
        fprintf(f, " %llu\n", (unsigned long long)s->count);
    }
    pthread_mutex_unlock(&m->mu);
}

char *weft_metrics_render(weft_metrics *r, size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f)
        abort(); /* only out of memory: alloc.h's rule */
    /* registration is rare (start-up): holding the list lock for a scrape costs nothing */
    pthread_mutex_lock(&r->mu);
    for (weft_metric *m = r->first; m; m = m->next)
        render_family(f, m);
    pthread_mutex_unlock(&r->mu);
    if (fclose(f) != 0)
        abort();
    if (len)
        *len = n;
    return text;
}

/* The metrics registry and its exposition: what a Prometheus server reads. Counters only
 * rise, label values are escaped, histograms render cumulative buckets ending in +Inf with
 * _sum and _count, and concurrent updates lose nothing. Python's parser checks the same text
 * in the integration test (test_metrics). */
#include "metrics.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *render(weft_metrics *r)
{
    size_t len;
    char *text = weft_metrics_render(r, &len);
    cr_assert_eq(strlen(text), len);
    return text;
}

static void assert_has(const char *text, const char *line)
{
    cr_assert(strstr(text, line), "missing line '%s' in:\n%s", line, text);
}

Test(metrics, counter_has_help_type_and_one_line_per_label_values)
{
    weft_metrics *r = weft_metrics_create();
    const char *labels[] = {"task", "outcome"};
    weft_metric *c = weft_metrics_register(r, WEFT_METRIC_COUNTER, "weft_attempts_total",
                                           "Attempts run.", 2, labels, 0, NULL);
    const char *ok[] = {"noop", "completed"}, *bad[] = {"noop", "permanent"};
    weft_metric_add(c, ok, 1);
    weft_metric_add(c, ok, 2);
    weft_metric_add(c, bad, 1);
    weft_metric_add(c, bad, -5); /* a counter never goes down */
    char *t = render(r);
    assert_has(t, "# HELP weft_attempts_total Attempts run.\n# TYPE weft_attempts_total counter\n");
    assert_has(t, "weft_attempts_total{task=\"noop\",outcome=\"completed\"} 3\n");
    assert_has(t, "weft_attempts_total{task=\"noop\",outcome=\"permanent\"} 1\n");
    cr_assert_eq(weft_metric_value(c, ok), 3);
    free(t);
    weft_metrics_destroy(r);
}

Test(metrics, label_values_and_help_are_escaped)
{
    weft_metrics *r = weft_metrics_create();
    const char *labels[] = {"queue"};
    weft_metric *c = weft_metrics_register(r, WEFT_METRIC_COUNTER, "x_total", "a \\ back\nslash", 1,
                                           labels, 0, NULL);
    const char *v[] = {"a\"b\\c\nd"};
    weft_metric_add(c, v, 1);
    char *t = render(r);
    assert_has(t, "# HELP x_total a \\\\ back\\nslash\n");
    assert_has(t, "x_total{queue=\"a\\\"b\\\\c\\nd\"} 1\n");
    free(t);
    weft_metrics_destroy(r);
}

Test(metrics, a_family_without_labels_shows_zero_before_its_first_event)
{
    weft_metrics *r = weft_metrics_create();
    weft_metric *g =
        weft_metrics_register(r, WEFT_METRIC_GAUGE, "in_flight", "Now.", 0, NULL, 0, NULL);
    char *t = render(r);
    assert_has(t, "# TYPE in_flight gauge\nin_flight 0\n");
    free(t);
    weft_metric_add(g, NULL, 2);
    weft_metric_add(g, NULL, -1);
    weft_metric_set(g, NULL, 7);
    weft_metric_add(g, NULL, -0.5);
    t = render(r);
    assert_has(t, "in_flight 6.5\n");
    free(t);
    weft_metrics_destroy(r);
}

Test(metrics, histogram_buckets_are_cumulative_and_end_in_inf_with_sum_and_count)
{
    weft_metrics *r = weft_metrics_create();
    const double bounds[] = {0.1, 1, 10};
    const char *labels[] = {"task"};
    weft_metric *h = weft_metrics_register(r, WEFT_METRIC_HISTOGRAM, "d_seconds", "Durations.", 1,
                                           labels, 3, bounds);
    const char *v[] = {"noop"};
    weft_metric_observe(h, v, 0.05);
    weft_metric_observe(h, v, 0.1); /* le is inclusive */
    weft_metric_observe(h, v, 5);
    weft_metric_observe(h, v, 50);
    char *t = render(r);
    assert_has(t, "# TYPE d_seconds histogram\n");
    assert_has(t, "d_seconds_bucket{task=\"noop\",le=\"0.1\"} 2\n");
    assert_has(t, "d_seconds_bucket{task=\"noop\",le=\"1\"} 2\n");
    assert_has(t, "d_seconds_bucket{task=\"noop\",le=\"10\"} 3\n");
    assert_has(t, "d_seconds_bucket{task=\"noop\",le=\"+Inf\"} 4\n");
    assert_has(t, "d_seconds_sum{task=\"noop\"} 55.15\n");
    assert_has(t, "d_seconds_count{task=\"noop\"} 4\n");
    cr_assert_eq(weft_metric_value(h, v), 4);
    free(t);
    weft_metrics_destroy(r);
}

Test(metrics, families_render_in_registration_order)
{
    weft_metrics *r = weft_metrics_create();
    weft_metrics_register(r, WEFT_METRIC_GAUGE, "b_first", "B.", 0, NULL, 0, NULL);
    weft_metrics_register(r, WEFT_METRIC_GAUGE, "a_second", "A.", 0, NULL, 0, NULL);
    char *t = render(r);
    cr_assert_lt(strstr(t, "b_first"), strstr(t, "a_second"));
    free(t);
    weft_metrics_destroy(r);
}

Test(metrics, a_full_family_drops_new_series_and_keeps_counting_the_old)
{
    weft_metrics *r = weft_metrics_create();
    const char *labels[] = {"k"};
    weft_metric *c =
        weft_metrics_register(r, WEFT_METRIC_COUNTER, "many_total", "Many.", 1, labels, 0, NULL);
    char name[32];
    for (int i = 0; i <= WEFT_METRICS_MAX_SERIES; i++) {
        snprintf(name, sizeof name, "v%d", i);
        const char *v[] = {name};
        weft_metric_add(c, v, 1);
    }
    const char *first[] = {"v0"}, *over[] = {name};
    weft_metric_add(c, first, 1);
    cr_assert_eq(weft_metric_value(c, first), 2);
    cr_assert_eq(weft_metric_value(c, over), 0);
    weft_metrics_destroy(r);
}

static weft_metric *shared;

static void *hammer(void *arg)
{
    const char *v[] = {arg};
    for (int i = 0; i < 10000; i++)
        weft_metric_observe(shared, v, 0.001);
    return NULL;
}

Test(metrics, concurrent_observations_are_all_counted)
{
    weft_metrics *r = weft_metrics_create();
    const double bounds[] = {0.01};
    const char *labels[] = {"t"};
    shared =
        weft_metrics_register(r, WEFT_METRIC_HISTOGRAM, "h_seconds", "H.", 1, labels, 1, bounds);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer, i % 2 ? "odd" : "even");
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    const char *even[] = {"even"}, *odd[] = {"odd"};
    cr_assert_eq(weft_metric_value(shared, even), 20000);
    cr_assert_eq(weft_metric_value(shared, odd), 20000);
    weft_metrics_destroy(r);
}

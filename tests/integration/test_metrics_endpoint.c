/* The --metrics endpoints (DESIGN §14) through the real consumers, read with the Prometheus
 * client's own parser (prom_scrape.py): a run of 10 noop attempts shows in weft-activity's
 * counters and histograms exactly, and in weft-handoff's handoff histogram; a message
 * dead-lettered by weft-entry is counted by queue; /healthz is 200 while connected and 503
 * for a consumer that cannot reach its broker; other paths and methods are refused. */
#include "alloc.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static harness_procs procs;
static int entry_port, activity_port, handoff_port;

static void up(void)
{
    char e[32], a[32], h[32];
    entry_port = harness_free_port();
    activity_port = harness_free_port();
    handoff_port = harness_free_port();
    snprintf(e, sizeof e, "127.0.0.1:%d", entry_port);
    snprintf(a, sizeof a, "127.0.0.1:%d", activity_port);
    snprintf(h, sizeof h, "127.0.0.1:%d", handoff_port);
    const char *eargs[] = {"--metrics", e, NULL}, *hargs[] = {"--metrics", h, NULL};
    const char *aargs[] = {"--concurrency", "4", "--metrics", a, NULL};
    procs.entry = harness_spawn("weft-entry", eargs);
    procs.activity = harness_spawn("weft-activity", aargs);
    procs.handoff = harness_spawn("weft-handoff", hargs);
    harness_wait_http(entry_port, "/healthz", 200, 30);
    harness_wait_http(activity_port, "/healthz", 200, 30);
    harness_wait_http(handoff_port, "/healthz", 200, 30);
}

static void down(void)
{
    harness_stop(&procs);
}

TestSuite(metrics_endpoint, .init = up, .fini = down, .timeout = 120);

/* Every sample of the endpoint on port, parsed (new object). */
static json_t *scrape(int port)
{
    char *cmd = weft_xasprintf("'%s' '%s' http://127.0.0.1:%d/metrics", getenv("WEFT_TEST_PYTHON"),
                               getenv("WEFT_PROM_SCRAPE"), port);
    char *out = NULL;
    int rc = harness_run(cmd, &out);
    cr_assert_eq(rc, 0, "the Prometheus parser reads port %d's /metrics (exit %d): %s", port, rc,
                 out ? out : "");
    json_error_t e;
    json_t *samples = json_loads(out, 0, &e);
    cr_assert(json_is_object(samples), "prom_scrape.py output: %s", e.text);
    free(out);
    free(cmd);
    return samples;
}

static double value(json_t *samples, const char *key)
{
    return json_number_value(json_object_get(samples, key));
}

static double delta(json_t *before, json_t *after, const char *key)
{
    return value(after, key) - value(before, key);
}

Test(metrics_endpoint, ten_noop_attempts_show_in_the_activity_and_handoff_metrics)
{
    json_t *act0 = scrape(activity_port), *hand0 = scrape(handoff_port);
    char def[2048] = "{\"name\":\"metered\",\"activities\":[";
    for (int i = 0; i < 10; i++)
        snprintf(def + strlen(def), sizeof def - strlen(def),
                 "%s{\"name\":\"n%d\",\"task\":\"noop\"}", i ? "," : "", i);
    strcat(def, "]}");
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(def, NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED);
    weft_workflow_info_finish(&w);
    harness_wait_handled(30); /* the last handoff is acked, so it was observed */
    json_t *act1 = scrape(activity_port), *hand1 = scrape(handoff_port);

    cr_assert_eq(delta(act0, act1, "weft_attempts_total{outcome=completed,task=noop}"), 10);
    cr_assert_eq(delta(act0, act1, "weft_attempt_duration_seconds_count{task=noop}"), 10);
    cr_assert_eq(delta(act0, act1, "weft_attempt_duration_seconds_bucket{le=+Inf,task=noop}"), 10);
    cr_assert_gt(delta(act0, act1, "weft_attempt_duration_seconds_sum{task=noop}"), 0);
    cr_assert_eq(value(act1, "weft_attempts_in_flight"), 0);
    cr_assert_eq(delta(act0, act1, "weft_messages_total{outcome=acked,queue=default}"), 10);
    cr_assert_eq(value(act1, "weft_consumer_connected{consumer=activity-0}"), 1);
    cr_assert_eq(value(act1, "weft_consumer_connected{consumer=activity-3}"), 1);
    cr_assert(json_object_get(act1, "weft_reconnects_total{service=postgres}"),
              "every service is listed from the start");
    double handoffs = delta(hand0, hand1, "weft_handoff_duration_seconds_count");
    cr_assert_geq(handoffs, 10, "one handoff per attempt at least (%.0f)", handoffs);
    cr_assert_geq(delta(hand0, hand1, "weft_messages_total{outcome=acked,queue=workflow_handoff}"),
                  10);
    json_decref(act0);
    json_decref(act1);
    json_decref(hand0);
    json_decref(hand1);
}

Test(metrics_endpoint, a_dead_lettered_entry_message_is_counted_by_queue)
{
    json_t *before = scrape(entry_port);
    harness_publish("workflow_entry", "{\"metrics-test\": \"not an entry message\"}");
    char *reason = harness_dead_find("metrics-test", 30);
    cr_assert(reason, "the message reached weft.dead");
    free(reason);
    json_t *after = scrape(entry_port);
    cr_assert_eq(delta(before, after, "weft_dead_lettered_total{queue=workflow_entry}"), 1);
    cr_assert_eq(
        delta(before, after, "weft_messages_total{outcome=dead_lettered,queue=workflow_entry}"), 1);
    json_decref(before);
    json_decref(after);
}

Test(metrics_endpoint, healthz_is_503_while_the_broker_cannot_be_reached_and_metrics_still_serve)
{
    int port = harness_free_port();
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    /* a port nothing listens on: the consumer backs off and retries for ever */
    char *old = weft_xstrdup(getenv("WEFT_AMQP_URL"));
    setenv("WEFT_AMQP_URL", "amqp://guest:guest@127.0.0.1:1", 1);
    const char *args[] = {"--metrics", addr, NULL};
    pid_t pid = harness_spawn("weft-handoff", args);
    setenv("WEFT_AMQP_URL", old, 1);
    free(old);
    harness_wait_http(port, "/metrics", 200, 30);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
    long status = 0;
    free(harness_http("GET", url, NULL, NULL, &status, NULL));
    cr_assert_eq(status, 503);
    json_t *samples = scrape(port);
    cr_assert_eq(value(samples, "weft_consumer_connected{consumer=handoff}"), 0);
    json_decref(samples);
    kill(pid, SIGTERM);
    int ws;
    waitpid(pid, &ws, 0);
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

Test(metrics_endpoint, other_paths_are_404_and_other_methods_405)
{
    char url[64];
    long status = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/nothing", activity_port);
    free(harness_http("GET", url, NULL, NULL, &status, NULL));
    cr_assert_eq(status, 404);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", activity_port);
    char *headers = NULL;
    free(harness_http("POST", url, NULL, "{}", &status, &headers));
    cr_assert_eq(status, 405);
    cr_assert(strcasestr(headers, "Allow: GET"), "405 says what is allowed: %s", headers);
    free(headers);
}

Test(metrics_endpoint, an_address_that_cannot_be_bound_is_a_start_up_error)
{
    char addr[32], *out = NULL;
    snprintf(addr, sizeof addr, "127.0.0.1:%d", activity_port); /* in use by weft-activity */
    char *cmd = weft_xasprintf("'%s' --metrics %s 2>&1", getenv("WEFT_BIN_WEFT_HANDOFF"), addr);
    int rc = harness_run(cmd, &out);
    cr_assert_eq(rc, 2, "exit 2 for an address in use: %s", out);
    cr_assert(strstr(out, addr), "the error names the address: %s", out);
    free(out);
    free(cmd);
    cmd = weft_xasprintf("'%s' --metrics nonsense 2>&1", getenv("WEFT_BIN_WEFT_HANDOFF"));
    cr_assert_eq(harness_run(cmd, NULL), 2);
    free(cmd);
}

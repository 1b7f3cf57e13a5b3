/* Attempts longer than the broker lets a delivery stay unacknowledged (consumer_timeout),
 * and the lease that guards them once their message is acknowledged early: a long attempt
 * runs once and completes; a worker killed after its early ack is found by its expired
 * lease and its attempt retried; and an attempt left running in a workflow that failed
 * ends too, instead of staying `running` for ever. */
#include "harness.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* RabbitMQ checks consumer timeouts on each channel's tick: a short tick makes a short
 * timeout bite within seconds, as a 30-minute one does in production after 30 minutes. */
#define SHORT_TIMEOUT "eval 'application:set_env(rabbit, consumer_timeout, 2000).'"
#define SHORT_TICK "eval 'application:set_env(rabbit, channel_tick_interval, 500).'"
/* RabbitMQ 3.10's own values, put back (unsetting the tick would break new channels) */
#define DEFAULT_TIMEOUT "eval 'application:set_env(rabbit, consumer_timeout, 1800000).'"
#define DEFAULT_TICK "eval 'application:set_env(rabbit, channel_tick_interval, 60000).'"

static harness_procs procs;
static char log_path[256];

static void up(void)
{
    snprintf(log_path, sizeof log_path, "%s/lease-%d.log", getenv("WEFT_DATA_DIR"), getpid());
    unlink(log_path);
}

static void down(void)
{
    harness_stop(&procs);
    harness_rabbitmqctl(DEFAULT_TIMEOUT);
    harness_rabbitmqctl(DEFAULT_TICK);
}

TestSuite(lease, .init = up, .fini = down, .timeout = 120);

static const char *const activity_args[] = {"--ack-after", "1", "--lease", "3", NULL};
static const char *const sweep_args[] = {"--sweep-interval", "1", NULL};

static int attempts_of(const char *uid, const char *name, json_t **errors)
{
    json_t *acts = harness_activities(uid);
    json_t *a = harness_activity(acts, name);
    json_t *list = json_object_get(a, "attempts");
    int n = (int)json_array_size(list);
    if (errors)
        *errors = json_incref(list);
    json_decref(acts);
    return n;
}

static void kill_activity(void)
{
    kill(procs.activity, SIGKILL);
    waitpid(procs.activity, NULL, 0);
    procs.activity = 0;
}

Test(lease, an_attempt_longer_than_consumer_timeout_runs_once_and_completes)
{
    harness_rabbitmqctl(SHORT_TIMEOUT);
    harness_rabbitmqctl(SHORT_TICK);
    /* started after the change: a channel reads consumer_timeout when it opens */
    procs.entry = harness_spawn("weft-entry", NULL);
    procs.handoff = harness_spawn("weft-handoff", NULL);
    procs.activity = harness_spawn_logged("weft-activity", activity_args, log_path);
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"long\",\"activities\":[{\"name\":\"long\",\"task\":\"sleep\","
                   "\"params\":{\"ms\":6000},\"retry\":{\"max_retries\":3}}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    json_t *attempts = NULL;
    int n = attempts_of(uid, "long", &attempts);
    char *shown = json_dumps(attempts, 0);
    cr_expect_eq(n, 1, "the 6 s attempt ran %d times under a 2 s consumer_timeout: %s", n, shown);
    free(shown);
    json_decref(attempts);
    cr_expect_geq(harness_count_lines(log_path, "its message is acknowledged"), 1,
                  "the worker never acknowledged its message early");
}

Test(lease, a_worker_killed_after_its_early_ack_is_found_by_its_lease)
{
    procs.entry = harness_spawn("weft-entry", NULL);
    procs.handoff = harness_spawn("weft-handoff", sweep_args);
    procs.activity = harness_spawn_logged("weft-activity", activity_args, log_path);
    char uid[WEFT_UUID_LEN + 1];
    harness_submit("{\"name\":\"lost\",\"activities\":[{\"name\":\"slow\",\"task\":\"sleep\","
                   "\"params\":{\"ms\":5000},\"retry\":{\"max_retries\":2,"
                   "\"initial_delay_ms\":100}}]}",
                   NULL, uid);
    harness_wait_lines(log_path, "its message is acknowledged", 1, 10,
                       "the worker acknowledged no message early");
    kill_activity();
    /* the broker holds nothing to redeliver: only the lease tells the attempt was lost */
    cr_assert_eq(harness_queue_messages(WEFT_QUEUE_DEFAULT), 0,
                 "a message for the attempt is still in the broker");
    procs.activity = harness_spawn("weft-activity", activity_args);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    json_t *attempts = NULL;
    cr_assert_eq(attempts_of(uid, "slow", &attempts), 2);
    const char *why = json_string_value(json_object_get(json_array_get(attempts, 0), "error"));
    cr_expect(why && strstr(why, "lease expired"), "attempt 1 failed with: %s", why);
    json_decref(attempts);
}

Test(lease, an_attempt_left_running_in_a_failed_workflow_ends_when_its_worker_dies)
{
    procs.entry = harness_spawn("weft-entry", NULL);
    procs.handoff = harness_spawn("weft-handoff", sweep_args);
    procs.activity = harness_spawn_logged("weft-activity", activity_args, log_path);
    char uid[WEFT_UUID_LEN + 1];
    /* "bad" fails at once and fails the workflow while "slow" still runs */
    harness_submit("{\"name\":\"split\",\"activities\":["
                   "{\"name\":\"slow\",\"task\":\"sleep\",\"params\":{\"ms\":20000}},"
                   "{\"name\":\"wait\",\"task\":\"sleep\",\"params\":{\"ms\":1500}},"
                   "{\"name\":\"bad\",\"task\":\"fail\",\"depends_on\":[\"wait\"]}]}",
                   NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    weft_workflow_info_finish(&w);
    json_decref(harness_wait_activity(uid, "slow", "running", 10));
    harness_wait_lines(log_path, "its message is acknowledged", 1, 10,
                       "the worker acknowledged no message early");
    kill_activity();
    /* no worker runs now: the sweeper alone must end it */
    json_t *acts = harness_wait_activity(uid, "slow", "failed", 30);
    const char *why = json_string_value(json_object_get(harness_activity(acts, "slow"), "error"));
    cr_expect(why && strstr(why, "lease expired"), "slow failed with: %s", why);
    json_decref(acts);
}

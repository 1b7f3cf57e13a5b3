/* A create message without workflow_uid names its workflow through its AMQP message_id:
 * redeliveries and a publisher's retries under one id create one workflow, also when the
 * broker refused the first dispatch after the workflow was committed. While that message
 * keeps failing, the entry consumer's retries slow down (capped exponential backoff). */
#include "harness.h"

#include "alloc.h"
#include "clock.h"
#include "queues.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REFUSE_POLICY "weft-test-refuse-default"

typedef struct {
    char name[40];       /* the workflow's definition name, unique to the test */
    char message_id[40]; /* the AMQP message_id both deliveries carry */
    char uid[WEFT_UUID_LEN + 1];
    char *log;
    pid_t entry, activity, handoff;
} fixture;

static void fixture_init(fixture *f, const char *const *entry_args)
{
    char r[WEFT_UUID_LEN + 1];
    weft_uuid_new(r);
    snprintf(f->name, sizeof f->name, "idem_%.8s", r);
    snprintf(f->message_id, sizeof f->message_id, "msg-%.8s", r + 9);
    char *name = weft_xasprintf("weft.entry.message_id:%s", f->message_id);
    weft_uuid_from_name(name, strlen(name), f->uid);
    free(name);
    f->log = harness_write_temp("");
    f->entry = harness_spawn_logged("weft-entry", entry_args, f->log);
    f->activity = harness_spawn("weft-activity", NULL);
    f->handoff = harness_spawn("weft-handoff", NULL);
    usleep(300 * 1000);
    cr_assert(harness_alive(f->entry) && harness_alive(f->activity) && harness_alive(f->handoff),
              "a consumer exited at start");
}

/* Criterion's .fini: runs after a failed assertion too, so no consumer outlives its test. */
static fixture f;

static void fixture_finish(void)
{
    harness_procs p = {f.entry, f.activity, f.handoff};
    harness_stop(&p);
    if (f.log)
        unlink(f.log);
    free(f.log);
    f.log = NULL;
}

/* Publishes a create message without workflow_uid under f's message_id. */
static void publish_create(const fixture *f)
{
    char *body = weft_xasprintf("{\"config\": {\"name\": \"%s\", \"activities\": ["
                                "{\"name\": \"a\", \"task\": \"noop\"},"
                                "{\"name\": \"b\", \"task\": \"noop\", \"depends_on\": [\"a\"]}]},"
                                " \"inputs\": {\"x\": 1}}",
                                f->name);
    weft_broker *b = harness_broker();
    weft_err err = {0};
    weft_status st =
        weft_broker_publish_id(b, WEFT_QUEUE_ENTRY, body, strlen(body), 0, f->message_id, &err);
    if (!st)
        st = weft_broker_wait_confirms(b, 10000, &err);
    cr_assert(st == WEFT_OK, "publish: %s", err.msg);
    weft_broker_destroy(b);
    free(body);
}

static int workflows_named(const char *name)
{
    const char *p[] = {name};
    char *v = harness_sql_value("SELECT count(*) FROM weft_workflow WHERE name = $1", 1, p);
    int n = atoi(v);
    free(v);
    return n;
}

/* Waits up to timeout_s for a line containing needle in the log; asserts it came. */
static void wait_log(const char *log, const char *needle, double timeout_s)
{
    double end = weft_clock_s() + timeout_s;
    while (harness_count_lines(log, needle) == 0) {
        cr_assert(weft_clock_s() < end, "no log line '%s' within %.0f s", needle, timeout_s);
        usleep(50 * 1000);
    }
}

Test(entry_idempotence, same_message_id_delivered_twice_creates_one_workflow, .timeout = 60,
     .fini = fixture_finish)
{
    fixture_init(&f, NULL);
    publish_create(&f);
    publish_create(&f);
    weft_workflow_info info;
    harness_wait(f.uid, 30, &info);
    cr_expect_eq(info.status, WEFT_WORKFLOW_COMPLETED, "workflow %s ended %s", f.uid,
                 weft_workflow_status_name(info.status));
    weft_workflow_info_finish(&info);
    /* the second delivery was consumed: it found the workflow and acted as resume */
    wait_log(f.log, "re-submit acts as resume", 10);
    cr_expect_eq(workflows_named(f.name), 1, "one message id must give one workflow");
}

static void clear_refuse_policy(void)
{
    harness_rabbitmqctl("clear_policy " REFUSE_POLICY);
}

static void refuse_fini(void)
{
    /* the policy must not outlive the test, whatever failed */
    harness_run(
        "\"$WEFT_TEST_DATA_DIR/../../deploy/services.sh\" rabbitmqctl clear_policy " REFUSE_POLICY
        " >/dev/null 2>&1",
        NULL);
    fixture_finish();
}

Test(entry_idempotence, dispatch_refused_then_allowed_creates_one_workflow_with_growing_backoff,
     .timeout = 90, .fini = refuse_fini)
{
    harness_rabbitmqctl("set_policy --apply-to queues --priority 100 " REFUSE_POLICY
                        " '^default$' '{\"max-length\": 0, \"overflow\": \"reject-publish\"}'");
    const char *args[] = {"--log-level", "debug", NULL};
    fixture_init(&f, args);
    publish_create(&f);
    /* every delivery commits (or finds) the workflow, then the broker nacks its dispatch */
    wait_log(f.log, "refused a message", 10);
    double t0 = weft_clock_s();
    usleep(4000 * 1000);
    int refusals = harness_count_lines(f.log, "refused a message");
    double window = weft_clock_s() - t0;
    clear_refuse_policy();

    /* 100 ms doubling: about 6 deliveries in 4 s; a series restarted at each reconnect
     * gives one every ~0.3 s (13 or more) */
    cr_expect(refusals >= 2, "the refused message was not retried (%d refusals)", refusals);
    cr_expect(refusals <= 8, "%d refusals in %.1f s: the backoff does not grow", refusals, window);

    weft_workflow_info info;
    harness_wait(f.uid, 40, &info);
    cr_expect_eq(info.status, WEFT_WORKFLOW_COMPLETED, "workflow %s ended %s", f.uid,
                 weft_workflow_status_name(info.status));
    weft_workflow_info_finish(&info);
    cr_expect_eq(workflows_named(f.name), 1, "redeliveries created %d workflows, not 1",
                 workflows_named(f.name));
}

/* A worker's limit per task type (the task file's `limit`, DESIGN §10): a worker of 4
 * slots runs at most one attempt of a type limited to 1 at a time, and the backlog of that
 * type does not hold the other slots: a second type's attempts, queued behind it, all end
 * before the limited type's last one starts. Waiting for the limit counts no attempt. */
#include "alloc.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static harness_procs procs;
static char dir[] = "/tmp/weft-limits-XXXXXX";

/* A oneshot task that sleeps, then answers for its attempt. */
#define SLEEPER(s)                                                                             \
    "read -r request\nsleep " s "\n"                                                           \
    "printf '{\"id\":\"%s/%s\",\"status\":\"success\",\"data\":{}}\\n' \"$WEFT_ACTIVITY_UID\" " \
    "\"$WEFT_ATTEMPT\"\n"

static void up(void)
{
    cr_assert(mkdtemp(dir));
    harness_write_file(dir, "slow.sh", SLEEPER("1"));
    harness_write_file(dir, "quick.sh", SLEEPER("0.2"));
    harness_write_file(dir, "tasks.json",
                       "{\"tasks\": {"
                       "\"slow_a\": {\"exec\": [\"sh\", \"slow.sh\"], \"mode\": \"oneshot\","
                       " \"limit\": 1},"
                       "\"quick_b\": {\"exec\": [\"sh\", \"quick.sh\"], \"mode\": \"oneshot\"}}}");
    char path[300];
    snprintf(path, sizeof path, "%s/tasks.json", dir);
    setenv("WEFT_TASKS_FILE", path, 1);
    const char *args[] = {"--concurrency", "4", NULL};
    procs.entry = harness_spawn("weft-entry", NULL);
    procs.handoff = harness_spawn("weft-handoff", NULL);
    procs.activity = harness_spawn("weft-activity", args);
    usleep(300 * 1000);
    cr_assert(harness_alive(procs.entry) && harness_alive(procs.activity) &&
              harness_alive(procs.handoff));
}

static void down(void)
{
    harness_stop(&procs);
    char *cmd = weft_xasprintf("rm -rf '%s'", dir);
    harness_run(cmd, NULL);
    free(cmd);
}

TestSuite(limits, .init = up, .fini = down, .timeout = 120);

Test(limits, a_type_at_its_limit_runs_one_at_a_time_and_leaves_the_other_slots_to_others)
{
    /* the limited type first in the queue: 4 of it, then 6 of another */
    char def[2048] = "{\"name\": \"limited\", \"activities\": [";
    for (int i = 0; i < 4; i++)
        snprintf(def + strlen(def), sizeof def - strlen(def),
                 "{\"name\": \"a%d\", \"task\": \"slow_a\"},", i);
    for (int i = 0; i < 6; i++)
        snprintf(def + strlen(def), sizeof def - strlen(def),
                 "{\"name\": \"b%d\", \"task\": \"quick_b\"}%s", i, i < 5 ? "," : "]}");
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(def, NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "%s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    cr_assert_eq(harness_sql_long("SELECT count(*) FROM weft_attempt t JOIN weft_activity a"
                          " ON a.uid = t.activity_uid WHERE a.workflow_uid = $1",
                          uid),
                 10, "one attempt each: waiting for the limit is no attempt");
    cr_assert_eq(harness_sql_long("SELECT max(attempt) FROM weft_activity WHERE workflow_uid = $1", uid),
                 1);
    cr_assert_eq(harness_sql_long("SELECT count(*) FROM weft_attempt x"
                          " JOIN weft_activity ax ON ax.uid = x.activity_uid"
                          " JOIN weft_attempt y ON y.activity_uid > x.activity_uid"
                          " JOIN weft_activity ay ON ay.uid = y.activity_uid"
                          " WHERE ax.workflow_uid = $1 AND ay.workflow_uid = $1"
                          " AND ax.task = 'slow_a' AND ay.task = 'slow_a'"
                          /* finished_at is written when the result is stored, a moment after
                           * the slot was given back: 250 ms of slack, each attempt sleeps 1 s */
                          " AND x.started_at + interval '250 ms' < y.finished_at"
                          " AND y.started_at + interval '250 ms' < x.finished_at",
                          uid),
                 0, "no two slow_a attempts overlapped");
    cr_assert_eq(harness_sql_long("SELECT ((SELECT max(t.finished_at) FROM weft_attempt t JOIN"
                          " weft_activity a ON a.uid = t.activity_uid WHERE a.workflow_uid = $1"
                          " AND a.task = 'quick_b') < (SELECT max(t.started_at) FROM"
                          " weft_attempt t JOIN weft_activity a ON a.uid = t.activity_uid"
                          " WHERE a.workflow_uid = $1 AND a.task = 'slow_a'))::int",
                          uid),
                 1, "every quick_b ended before the last slow_a started: the backlog of slow_a"
                    " held no slot");
    char *cmd = weft_xasprintf("'%s' workers --json", getenv("WEFT_BIN_WEFT")), *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 0);
    cr_assert(strstr(out, "\"slow_a\": 1"), "weft workers shows the limit: %s", out);
    free(out);
    free(cmd);
}

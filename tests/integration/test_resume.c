/* Resume of a failed workflow: failed and canceled activities run again, completed ones
 * keep their outputs and are not re-run. */
#include "alloc.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static harness_procs procs;
static void up(void)
{
    harness_start(&procs, 2);
}
static void down(void)
{
    harness_stop(&procs);
}

TestSuite(resume, .init = up, .fini = down, .timeout = 120);

static const char *status_of(json_t *acts, const char *name)
{
    return json_string_value(json_object_get(harness_activity(acts, name), "status"));
}

static size_t runs_of(json_t *acts, const char *name)
{
    return json_array_size(json_object_get(harness_activity(acts, name), "attempts"));
}

Test(resume, resume_after_permanent_failure_completes_without_rerunning_completed_work)
{
    char marker[] = "/tmp/weft-resume-XXXXXX";
    int fd = mkstemp(marker);
    cr_assert(fd >= 0);
    close(fd);
    char def[1024];
    snprintf(def, sizeof def,
             "{\"name\":\"resumable\",\"activities\":["
             "{\"name\":\"first\",\"task\":\"noop\",\"params\":{\"v\":1}},"
             "{\"name\":\"side\",\"task\":\"noop\",\"depends_on\":[\"first\"]},"
             "{\"name\":\"gate\",\"task\":\"fail\",\"depends_on\":[\"first\"],"
             "\"params\":{\"code\":\"PERMANENT\",\"message\":\"marker present\","
             "\"while_file\":\"%s\"}},"
             "{\"name\":\"last\",\"task\":\"noop\",\"depends_on\":[\"gate\",\"side\"]}]}",
             marker);
    char uid[WEFT_UUID_LEN + 1];
    harness_submit(def, NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    cr_assert_str_eq(status_of(acts, "gate"), "failed");
    cr_assert_str_eq(status_of(acts, "last"), "canceled");
    json_decref(acts);
    harness_wait_handled(30); /* 'side' was running or queued when 'gate' failed */

    /* fix the cause, then resume through the CLI */
    remove(marker);
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "'%s' resume %s --wait --timeout 60", getenv("WEFT_BIN_WEFT"), uid);
    cr_assert_eq(harness_run(cmd, &out), 0, "resume --wait: %s", out);
    json_t *o = json_loads(out, 0, NULL);
    cr_assert(o, "stdout is the output JSON: %s", out);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(o, "last"), "v")), 1);
    json_decref(o);
    free(out);

    acts = harness_activities(uid);
    cr_assert_eq(runs_of(acts, "first"), 1, "completed work is not run again");
    cr_assert_str_eq(status_of(acts, "gate"), "completed");
    cr_assert_eq(runs_of(acts, "gate"), 2, "the failed activity ran again");
    cr_assert_str_eq(status_of(acts, "last"), "completed");
    cr_assert_eq(runs_of(acts, "last"), 1);
    json_decref(acts);

    /* resuming a completed workflow is a no-op */
    snprintf(cmd, sizeof cmd, "'%s' resume %s --wait --timeout 30 >/dev/null 2>&1",
             getenv("WEFT_BIN_WEFT"), uid);
    cr_assert_eq(harness_run(cmd, NULL), 0);
    harness_wait_handled(30);
    acts = harness_activities(uid);
    cr_assert_eq(runs_of(acts, "first"), 1);
    cr_assert_eq(runs_of(acts, "gate"), 2);
    json_decref(acts);
}

Test(resume, resume_of_unknown_uid_fails_in_the_cli)
{
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "'%s' resume 00000000-0000-4000-8000-0000000000ff 2>&1",
             getenv("WEFT_BIN_WEFT"));
    cr_assert_eq(harness_run(cmd, &out), 3);
    cr_assert(strstr(out, "unknown workflow"), "%s", out);
    free(out);
}

/* The seed's services start workflows with Celery's send_task of
 * workflow.schedule_workflow_entry on workflow_entry (Debian's python3-celery, the queue
 * declared as README says): weft-entry takes the call as the entry message it stands for.
 * A create runs with initial_inputs as its inputs under the task's id; config_format
 * "dict" and "json" both work; anything else is dead-lettered with the reason; kwargs with
 * only workflow_uid resume; the entry's log carries the task id. */
#include "alloc.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static harness_procs procs;
static char log_path[] = "/tmp/weft-celery-entry-log-XXXXXX";

static void up(void)
{
    int fd = mkstemp(log_path);
    cr_assert(fd >= 0);
    close(fd);
    const char *args[] = {"--concurrency", "2", NULL};
    procs.entry = harness_spawn_logged("weft-entry", NULL, log_path);
    procs.activity = harness_spawn("weft-activity", args);
    procs.handoff = harness_spawn("weft-handoff", NULL);
    usleep(300 * 1000);
    cr_assert(harness_alive(procs.entry) && harness_alive(procs.activity) &&
              harness_alive(procs.handoff));
}

static void down(void)
{
    harness_stop(&procs);
    unlink(log_path);
}

TestSuite(celery_entry, .init = up, .fini = down, .timeout = 120);

/* send_task with kwargs (JSON text) and task name (NULL: the entry task); returns the task
 * id in id. */
static void send_task(const char *kwargs, const char *task, char id[WEFT_UUID_LEN + 1])
{
    const char *python = getenv("WEFT_TEST_PYTHON"), *script = getenv("WEFT_TEST_CELERY_SEND");
    cr_assert(python && script, "WEFT_TEST_PYTHON and WEFT_TEST_CELERY_SEND come from meson");
    cr_assert_null(strchr(kwargs, '\''), "kwargs go in single quotes");
    char *cmd = weft_xasprintf("'%s' '%s' '%s' %s", python, script, kwargs, task ? task : "");
    char *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 0, "send_task failed (is python3-celery installed?): %s",
                 out);
    out[strcspn(out, "\n")] = '\0';
    cr_assert_eq(strlen(out), WEFT_UUID_LEN, "a task id: '%s'", out);
    snprintf(id, WEFT_UUID_LEN + 1, "%s", out);
    free(out);
    free(cmd);
}

static const char def_dict[] =
    "{\"name\": \"celery_made\", \"activities\": [{\"name\": \"echo\", \"task\": \"noop\"}]}";

Test(celery_entry, a_create_with_config_as_a_dict_runs_with_initial_inputs_under_the_task_id)
{
    char kwargs[512], id[WEFT_UUID_LEN + 1];
    snprintf(kwargs, sizeof kwargs,
             "{\"config\": %s, \"config_format\": \"dict\", \"initial_inputs\": {\"who\": \"seed\"}}",
             def_dict);
    send_task(kwargs, NULL, id);
    weft_workflow_info w;
    harness_wait(id, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "%s", w.error ? w.error : "");
    cr_assert_str_eq(w.name, "celery_made");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(w.output, "echo"), "who")), "seed",
        "initial_inputs are the workflow's inputs");
    weft_workflow_info_finish(&w);
    char needle[80];
    snprintf(needle, sizeof needle, "celery_task_id=%s", id);
    harness_wait_lines(log_path, needle, 1, 10, "the entry's log line with the task id");
    snprintf(needle, sizeof needle, "workflow=%s", id);
    harness_wait_lines(log_path, needle, 1, 10, "the workflow's log lines carry it as its uid");
}

Test(celery_entry, config_format_json_takes_the_definition_as_a_string)
{
    json_t *k = json_pack("{s:s, s:s, s:{s:i}}", "config", def_dict, "config_format", "json",
                          "initial_inputs", "n", 5);
    char *kwargs = json_dumps(k, JSON_COMPACT), id[WEFT_UUID_LEN + 1];
    json_decref(k);
    send_task(kwargs, NULL, id);
    free(kwargs);
    weft_workflow_info w;
    harness_wait(id, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "%s", w.error ? w.error : "");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(w.output, "echo"), "n")), 5);
    weft_workflow_info_finish(&w);
}

Test(celery_entry, a_bad_call_is_dead_lettered_with_the_reason)
{
    char kwargs[512], id[WEFT_UUID_LEN + 1];
    snprintf(kwargs, sizeof kwargs, "{\"config\": %s, \"config_format\": \"yaml\"}", def_dict);
    send_task(kwargs, NULL, id);
    /* the body is unchanged in weft.dead: find it by its config's name, check the reason */
    char *reason = harness_dead_find("celery_made", 20);
    cr_assert(reason, "the call reached weft.dead");
    cr_assert(strstr(reason, "config_format 'yaml' is not supported"), "reason: %s", reason);
    free(reason);
    send_task("{\"workflow_uid\": null}", "workflow.something_else", id);
    reason = harness_dead_find("workflow_uid", 20);
    cr_assert(reason, "a call of another task reached weft.dead");
    cr_assert(strstr(reason, "Celery task 'workflow.something_else' is not served"), "reason: %s",
              reason);
    free(reason);
}

Test(celery_entry, kwargs_with_only_workflow_uid_resume_a_failed_workflow)
{
    char marker[] = "/tmp/weft-celery-resume-XXXXXX";
    int fd = mkstemp(marker);
    cr_assert(fd >= 0);
    close(fd);
    char def[512], uid[WEFT_UUID_LEN + 1], id[WEFT_UUID_LEN + 1];
    snprintf(def, sizeof def,
             "{\"name\":\"celery_resume\",\"activities\":[{\"name\":\"gate\",\"task\":\"fail\","
             "\"params\":{\"code\":\"PERMANENT\",\"message\":\"marker\",\"while_file\":\"%s\"}}]}",
             marker);
    harness_submit(def, NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 30, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    weft_workflow_info_finish(&w);
    unlink(marker);
    char kwargs[128];
    snprintf(kwargs, sizeof kwargs, "{\"workflow_uid\": \"%s\"}", uid);
    send_task(kwargs, NULL, id);
    json_decref(harness_wait_activity(uid, "gate", "completed", 30));
    harness_wait(uid, 10, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "the Celery call resumed it");
    weft_workflow_info_finish(&w);
}

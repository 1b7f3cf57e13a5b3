/* The seed's file pipeline (http.fetch → file.load → text.replace → text.summary) against a
 * local HTTP server, with its failure modes. */
#include "harness.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static harness_procs procs;
static pid_t http_pid;
static int http_port;

static void up(void)
{
    http_pid = harness_start_fixture("../integration/http_fixture.py", harness_data("pipeline"),
                                     &http_port);
    harness_start(&procs, 2);
}

static void down(void)
{
    harness_stop(&procs);
    kill(http_pid, SIGTERM);
    waitpid(http_pid, NULL, 0);
}

TestSuite(file_pipeline, .init = up, .fini = down, .timeout = 120);

static void run(const char *fetch_path, const char *fetch_extra, const char *load_params,
                weft_workflow_info *w, char uid[WEFT_UUID_LEN + 1])
{
    char def[2048];
    snprintf(def, sizeof def,
             "{\"name\":\"file_pipeline\",\"activities\":["
             "{\"name\":\"fetch\",\"task\":\"http.fetch\",\"params\":{\"url\":"
             "\"http://127.0.0.1:%d%s\"%s},"
             "\"retry\":{\"max_retries\":2,\"initial_delay_ms\":100}},"
             "{\"name\":\"load\",\"task\":\"file.load\",\"depends_on\":[\"fetch\"],"
             "\"params\":{%s}},"
             "{\"name\":\"replace\",\"task\":\"text.replace\",\"depends_on\":[\"load\"],"
             "\"params\":{\"from\":\"foo\",\"to\":\"bar\"}},"
             "{\"name\":\"summary\",\"task\":\"text.summary\",\"depends_on\":[\"replace\"]}]}",
             http_port, fetch_path, fetch_extra, load_params);
    harness_submit(def, NULL, uid);
    harness_wait(uid, 60, w);
}

static json_t *activity(const char *uid, const char *name, json_t **acts)
{
    *acts = harness_activities(uid);
    return harness_activity(*acts, name);
}

Test(file_pipeline, fetch_load_replace_summary_end_to_end)
{
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run("/text/in.txt", "", "", &w, uid);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    json_t *s = json_object_get(w.output, "summary");
    cr_assert_eq(json_integer_value(json_object_get(s, "lines")), 3);
    cr_assert_eq(json_integer_value(json_object_get(s, "words")), 20);
    json_t *top = json_array_get(json_object_get(s, "top_words"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(top, "word")), "bar");
    cr_assert_eq(json_integer_value(json_object_get(top, "count")), 6,
                 "replace's content (4 foo -> bar) flowed into summary's input");
    weft_workflow_info_finish(&w);
}

Test(file_pipeline, not_found_is_permanent_and_fails_at_once)
{
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run("/missing", "", "", &w, uid);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_assert(strstr(w.error, "404"), "%s", w.error);
    weft_workflow_info_finish(&w);
    json_t *acts;
    json_t *fetch = activity(uid, "fetch", &acts);
    cr_assert_eq(json_array_size(json_object_get(fetch, "attempts")), 1, "404 is not retried");
    json_decref(acts);
}

Test(file_pipeline, service_unavailable_then_ok_is_retried_and_completes)
{
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1], path[64];
    snprintf(path, sizeof path, "/flaky/k%d", (int)getpid()); /* a fresh key per run */
    run(path, "", "", &w, uid);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "error: %s", w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    json_t *acts;
    json_t *fetch = activity(uid, "fetch", &acts);
    json_t *attempts = json_object_get(fetch, "attempts");
    cr_assert_eq(json_array_size(attempts), 2, "one 503, then success");
    cr_assert(
        strstr(json_string_value(json_object_get(json_array_get(attempts, 0), "error")), "503"));
    json_decref(acts);
}

Test(file_pipeline, download_over_the_size_cap_fails_permanently)
{
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run("/big/5000", ",\"max_bytes\":1000", "", &w, uid);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_assert(strstr(w.error, "max_bytes"), "%s", w.error);
    weft_workflow_info_finish(&w);
}

Test(file_pipeline, file_over_the_load_cap_fails_permanently)
{
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run("/big/5000", "", "\"max_bytes\":1000", &w, uid);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_assert(strstr(w.error, "'load'"), "%s", w.error);
    weft_workflow_info_finish(&w);
}

Test(file_pipeline, load_path_escaping_the_data_dir_is_rejected)
{
    weft_workflow_info w;
    char uid[WEFT_UUID_LEN + 1];
    run("/text/in.txt", "", "\"path\":\"../../etc/passwd\"", &w, uid);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_assert(strstr(w.error, "escapes"), "%s", w.error);
    cr_assert(!strstr(w.error, "root:"), "nothing of the file leaked");
    weft_workflow_info_finish(&w);
    json_t *acts;
    json_t *load = activity(uid, "load", &acts);
    cr_assert_eq(json_array_size(json_object_get(load, "attempts")), 1, "PERMANENT");
    json_decref(acts);
}

Test(file_pipeline, output_holding_a_nul_byte_fails_permanently_naming_the_task_and_key)
{
    /* jsonb cannot store U+0000: the attempt must fail for that reason, at once */
    char name[64], path[1024];
    snprintf(name, sizeof name, "nul-%d.txt", (int)getpid());
    snprintf(path, sizeof path, "%s/%s", getenv("WEFT_DATA_DIR"), name);
    FILE *f = fopen(path, "wb");
    cr_assert(f, "cannot write %s", path);
    fwrite("ab\0cd", 1, 5, f);
    fclose(f);
    char def[512], uid[WEFT_UUID_LEN + 1];
    snprintf(def, sizeof def,
             "{\"name\":\"nul_output\",\"activities\":[{\"name\":\"load\",\"task\":"
             "\"file.load\",\"params\":{\"path\":\"%s\"},\"retry\":{\"max_retries\":3,"
             "\"initial_delay_ms\":50}}]}",
             name);
    harness_submit(def, NULL, uid);
    weft_workflow_info w;
    harness_wait(uid, 60, &w);
    remove(path);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED);
    cr_expect(strstr(w.error, "task 'file.load' output holds a NUL character (U+0000) at "
                              "'content'"),
              "%s", w.error);
    weft_workflow_info_finish(&w);
    json_t *acts;
    json_t *load = activity(uid, "load", &acts);
    cr_expect_eq(json_array_size(json_object_get(load, "attempts")), 1, "PERMANENT: not retried");
    json_decref(acts);
}

/* weft-entry's HTTP API (DESIGN §14) through the real consumers: a bearer token guards /v1
 * (401 with WWW-Authenticate otherwise); bad JSON, an invalid definition (named), bad
 * filters are 400; unknown workflows and paths 404; wrong methods 405 with Allow; a body
 * over the message limit 413; a workflow submitted through it runs to completed and reads
 * back as `weft status --json` shows it, with its DAG; the list filters and orders; cancel
 * and resume take effect; --http without a token file does not start. */
#include "alloc.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOKEN "api-test-token-0123456789"
/* small enough to exceed cheaply, big enough for every definition below */
#define MAX_BYTES 8192

static harness_procs procs;
static int port;
static char token_file[] = "/tmp/weft-api-token-XXXXXX";

static void up(void)
{
    int fd = mkstemp(token_file);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, TOKEN "\n", strlen(TOKEN) + 1), (ssize_t)strlen(TOKEN) + 1);
    close(fd);
    setenv("WEFT_API_TOKEN_FILE", token_file, 1);
    port = harness_free_port();
    char addr[32], max[16];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    snprintf(max, sizeof max, "%d", MAX_BYTES);
    const char *eargs[] = {"--http", addr, "--max-message-bytes", max, NULL};
    const char *aargs[] = {"--concurrency", "2", NULL};
    procs.entry = harness_spawn("weft-entry", eargs);
    procs.activity = harness_spawn("weft-activity", aargs);
    procs.handoff = harness_spawn("weft-handoff", NULL);
    harness_wait_http(port, "/", 200, 30);
}

static void down(void)
{
    harness_stop(&procs);
    unlink(token_file);
    unsetenv("WEFT_API_TOKEN_FILE");
}

TestSuite(api, .init = up, .fini = down, .timeout = 120);

/* A request to path with the right token (or another); the parsed JSON body (new). */
static json_t *call(const char *method, const char *path, const char *token, const char *body,
                    long *status, char **headers)
{
    char *url = weft_xasprintf("http://127.0.0.1:%d%s", port, path);
    char *text = harness_http(method, url, token, body, status, headers);
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    cr_assert(o, "%s %s answers JSON (%ld): %s", method, path, *status, text);
    free(text);
    free(url);
    return o;
}

/* The status and the error text of a failing call, asserting the JSON error shape. */
static void expect_error(const char *method, const char *path, const char *token, const char *body,
                         long want, const char *says)
{
    long status = 0;
    json_t *o = call(method, path, token, body, &status, NULL);
    const char *error = json_string_value(json_object_get(o, "error"));
    cr_assert_eq(status, want, "%s %s: %ld, not %ld (%s)", method, path, status, want, error);
    cr_assert(error, "%s %s: {\"error\": ...}", method, path);
    cr_assert(!says || strstr(error, says), "%s %s: the error says '%s': %s", method, path, says,
              error);
    json_decref(o);
}

static char *submit(const char *def)
{
    long status = 0;
    char *body = weft_xasprintf("{\"config\": %s}", def);
    json_t *o = call("POST", "/v1/workflows", TOKEN, body, &status, NULL);
    free(body);
    cr_assert_eq(status, 202);
    const char *uid = json_string_value(json_object_get(o, "workflow_uid"));
    cr_assert(uid && weft_uuid_valid(uid));
    char *copy = weft_xstrdup(uid);
    json_decref(o);
    return copy;
}

/* GET /v1/workflows/UID until its status is want (asserts within timeout_s). */
static json_t *wait_status(const char *uid, const char *want, double timeout_s)
{
    char path[80];
    snprintf(path, sizeof path, "/v1/workflows/%s", uid);
    for (int i = 0; i < timeout_s * 10; i++) {
        long status = 0;
        json_t *o = call("GET", path, TOKEN, NULL, &status, NULL);
        /* 202 said queued: until weft-entry's consumer created it, it is unknown */
        cr_assert(status == 200 || status == 404, "GET %s: %ld", path, status);
        if (status == 200 && strcmp(json_string_value(json_object_get(o, "status")), want) == 0)
            return o;
        json_decref(o);
        usleep(100 * 1000);
    }
    cr_assert_fail("workflow %s did not become %s within %.0f s", uid, want, timeout_s);
    return NULL;
}

Test(api, without_the_right_token_it_is_401_with_www_authenticate)
{
    const char *tokens[] = {NULL, "wrong", TOKEN "x", ""};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
        long status = 0;
        char *headers = NULL;
        json_t *o = call("GET", "/v1/workflows", tokens[i], NULL, &status, &headers);
        cr_assert_eq(status, 401, "token '%s'", tokens[i] ? tokens[i] : "(none)");
        cr_assert(strcasestr(headers, "WWW-Authenticate: Bearer"), "%s", headers);
        cr_assert(json_object_get(o, "error"));
        json_decref(o);
        free(headers);
    }
    /* even for a path that does not exist: nothing is told without the token */
    expect_error("GET", "/v1/nothing", NULL, NULL, 401, NULL);
}

Test(api, a_workflow_submitted_through_it_completes_and_reads_back_with_its_graph)
{
    char *uid = submit("{\"name\":\"api_pipeline\",\"activities\":["
                       "{\"name\":\"first\",\"task\":\"noop\",\"params\":{\"v\":1}},"
                       "{\"name\":\"second\",\"task\":\"noop\",\"depends_on\":[\"first\"]}]}");
    json_t *w = wait_status(uid, "completed", 60);
    cr_assert_str_eq(json_string_value(json_object_get(w, "uid")), uid);
    cr_assert_str_eq(json_string_value(json_object_get(w, "name")), "api_pipeline");
    json_t *p = json_object_get(w, "progress");
    cr_assert_eq(json_integer_value(json_object_get(p, "done")), 2);
    cr_assert_eq(json_integer_value(json_object_get(p, "total")), 2);
    cr_assert(json_is_object(json_object_get(json_object_get(w, "output"), "second")));
    json_t *acts = json_object_get(w, "activities");
    cr_assert_eq(json_array_size(acts), 2);
    json_t *second = harness_activity(acts, "second");
    cr_assert_str_eq(json_string_value(json_object_get(second, "status")), "completed");
    json_t *deps = json_object_get(second, "depends_on");
    cr_assert_eq(json_array_size(deps), 1);
    cr_assert_str_eq(json_string_value(json_array_get(deps, 0)), "first");

    /* the same shape as weft status --json, plus depends_on */
    char *cmd = weft_xasprintf("'%s' status %s --json", getenv("WEFT_BIN_WEFT"), uid);
    char *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 0);
    json_t *cli = json_loads(out, 0, NULL);
    cr_assert(cli);
    const char *key;
    json_t *v;
    json_object_foreach(cli, key, v)
        cr_assert(json_object_get(w, key), "the API has the CLI's '%s'", key);
    json_decref(cli);
    free(out);
    free(cmd);
    json_decref(w);

    /* the list: newest first, filtered by name and status */
    long status = 0;
    json_t *l = call("GET", "/v1/workflows?name=api_pipeline&status=completed&limit=1", TOKEN, NULL,
                     &status, NULL);
    cr_assert_eq(status, 200);
    json_t *rows = json_object_get(l, "workflows");
    cr_assert_eq(json_array_size(rows), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "uid")), uid);
    json_decref(l);
    l = call("GET", "/v1/workflows?name=api_pipeline&status=failed", TOKEN, NULL, &status, NULL);
    json_t *row;
    size_t i;
    json_array_foreach(json_object_get(l, "workflows"), i, row)
        cr_assert_str_neq(json_string_value(json_object_get(row, "uid")), uid);
    json_decref(l);
    free(uid);
}

Test(api, the_list_is_newest_first)
{
    char *a =
        submit("{\"name\":\"api_order\",\"activities\":[{\"name\":\"x\",\"task\":\"noop\"}]}");
    json_decref(wait_status(a, "completed", 30));
    char *b =
        submit("{\"name\":\"api_order\",\"activities\":[{\"name\":\"x\",\"task\":\"noop\"}]}");
    json_decref(wait_status(b, "completed", 30));
    long status = 0;
    json_t *l = call("GET", "/v1/workflows?name=api_order&limit=2", TOKEN, NULL, &status, NULL);
    json_t *rows = json_object_get(l, "workflows");
    cr_assert_eq(json_array_size(rows), 2);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "uid")), b);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 1), "uid")), a);
    json_decref(l);
    free(a);
    free(b);
}

Test(api, bad_requests_are_400_naming_what_is_wrong)
{
    expect_error("POST", "/v1/workflows", TOKEN, "{not json", 400, "line 1");
    expect_error("POST", "/v1/workflows", TOKEN, "{\"inputs\": {}}", 400, "config");
    expect_error("POST", "/v1/workflows", TOKEN,
                 "{\"config\": {\"name\": \"bad\", \"activities\": ["
                 "{\"name\": \"load\", \"task\": \"noop\", \"depends_on\": [\"fetc\"]}]}}",
                 400, "activity 'load': depends_on names unknown activity 'fetc'");
    expect_error("POST", "/v1/workflows", TOKEN,
                 "{\"config\": {\"name\": \"bad\", \"activities\": ["
                 "{\"name\": \"a\", \"task\": \"no.such.task\"}]}}",
                 400, "no.such.task");
    expect_error("GET", "/v1/workflows?status=sleeping", TOKEN, NULL, 400, "status");
    expect_error("GET", "/v1/workflows?limit=0", TOKEN, NULL, 400, "limit");
    expect_error("GET", "/v1/workflows?limit=many", TOKEN, NULL, 400, "limit");
    char path[80];
    char uid[WEFT_UUID_LEN + 1];
    weft_uuid_new(uid);
    snprintf(path, sizeof path, "/v1/workflows/%s/cancel", uid);
    expect_error("POST", path, TOKEN, "{\"reason\": 5}", 400, "reason");
}

Test(api, unknown_workflows_and_paths_are_404_wrong_methods_405)
{
    char uid[WEFT_UUID_LEN + 1], path[80];
    weft_uuid_new(uid);
    snprintf(path, sizeof path, "/v1/workflows/%s", uid);
    expect_error("GET", path, TOKEN, NULL, 404, uid);
    snprintf(path, sizeof path, "/v1/workflows/%s/resume", uid);
    expect_error("POST", path, TOKEN, NULL, 404, uid);
    expect_error("GET", "/v1/workflows/not-a-uid", TOKEN, NULL, 404, NULL);
    expect_error("GET", "/v1/nothing", TOKEN, NULL, 404, NULL);
    expect_error("GET", "/nothing", NULL, NULL, 404, NULL);
    expect_error("GET", "/dashboard/nothing.js", NULL, NULL, 404, NULL);

    long status = 0;
    char *headers = NULL;
    json_decref(call("DELETE", "/v1/workflows", TOKEN, NULL, &status, &headers));
    cr_assert_eq(status, 405);
    cr_assert(strcasestr(headers, "Allow: GET, POST"), "%s", headers);
    free(headers);
    snprintf(path, sizeof path, "/v1/workflows/%s/cancel", uid);
    expect_error("GET", path, TOKEN, NULL, 405, NULL);
    snprintf(path, sizeof path, "/v1/workflows/%s", uid);
    expect_error("POST", path, TOKEN, "{}", 405, NULL);
}

Test(api, a_body_over_the_message_limit_is_413)
{
    size_t n = MAX_BYTES + 100;
    char *body = weft_xmalloc(n + 1);
    memset(body, ' ', n);
    memcpy(body, "{\"config\":", 10);
    body[n - 1] = '}';
    body[n] = '\0';
    expect_error("POST", "/v1/workflows", TOKEN, body, 413, "limit");
    free(body);
}

Test(api, cancel_through_the_api_stops_the_workflow_with_the_reason)
{
    char *uid = submit("{\"name\":\"api_cancel\",\"activities\":["
                       "{\"name\":\"nap\",\"task\":\"sleep\",\"params\":{\"ms\":20000}},"
                       "{\"name\":\"after\",\"task\":\"noop\",\"depends_on\":[\"nap\"]}]}");
    json_decref(harness_wait_activity(uid, "nap", "running", 30));
    char path[96];
    snprintf(path, sizeof path, "/v1/workflows/%s/cancel", uid);
    long status = 0;
    json_t *o = call("POST", path, TOKEN, "{\"reason\": \"api says stop\"}", &status, NULL);
    cr_assert_eq(status, 202);
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "running");
    json_decref(o);
    json_t *w = wait_status(uid, "canceled", 30);
    cr_assert(strstr(json_string_value(json_object_get(w, "error")), "api says stop"),
              "the reason is recorded");
    json_decref(w);
    /* a body is optional */
    json_decref(call("POST", path, TOKEN, NULL, &status, NULL));
    cr_assert_eq(status, 202);
    free(uid);
}

Test(api, resume_through_the_api_runs_the_failed_work_again)
{
    char marker[] = "/tmp/weft-api-resume-XXXXXX";
    int fd = mkstemp(marker);
    cr_assert(fd >= 0);
    close(fd);
    char def[512];
    snprintf(def, sizeof def,
             "{\"name\":\"api_resume\",\"activities\":["
             "{\"name\":\"gate\",\"task\":\"fail\",\"params\":{\"code\":\"PERMANENT\","
             "\"message\":\"marker present\",\"while_file\":\"%s\"}},"
             "{\"name\":\"last\",\"task\":\"noop\",\"depends_on\":[\"gate\"]}]}",
             marker);
    char *uid = submit(def);
    json_decref(wait_status(uid, "failed", 60));
    unlink(marker);
    char path[96];
    snprintf(path, sizeof path, "/v1/workflows/%s/resume", uid);
    long status = 0;
    json_t *o = call("POST", path, TOKEN, NULL, &status, NULL);
    cr_assert_eq(status, 202);
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "failed");
    json_decref(o);
    json_decref(wait_status(uid, "completed", 60));
    free(uid);
}

Test(api, http_without_a_usable_token_file_does_not_start)
{
    char *cmd = weft_xasprintf("env -u WEFT_API_TOKEN_FILE '%s' --http 127.0.0.1:%d 2>&1",
                               getenv("WEFT_BIN_WEFT_ENTRY"), harness_free_port());
    char *out = NULL;
    cr_assert_eq(harness_run(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, "WEFT_API_TOKEN_FILE"), "names the variable: %s", out);
    free(out);
    free(cmd);
    char *empty = harness_write_temp("\n");
    cmd = weft_xasprintf("WEFT_API_TOKEN_FILE='%s' '%s' --http 127.0.0.1:%d 2>&1", empty,
                         getenv("WEFT_BIN_WEFT_ENTRY"), harness_free_port());
    cr_assert_eq(harness_run(cmd, &out), 2, "%s", out);
    cr_assert(strstr(out, empty) && strstr(out, "empty"), "names the file: %s", out);
    free(out);
    free(cmd);
    unlink(empty);
    free(empty);
}

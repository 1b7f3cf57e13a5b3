#include "harness.h"

#include "alloc.h"
#include "clock.h"
#include "message.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        cr_assert_fail("%s is not set: run the tests through the README's test command", name);
    return v;
}

bool harness_alive(pid_t pid)
{
    int status;
    return pid > 0 && waitpid(pid, &status, WNOHANG) == 0;
}

static pid_t spawn(const char *binary, const char *const *args, const char *log_path)
{
    /* meson passes each binary's path as WEFT_BIN_<NAME>, e.g. WEFT_BIN_WEFT_ENTRY */
    char var[64];
    snprintf(var, sizeof var, "WEFT_BIN_%s", binary);
    for (char *c = var; *c; c++)
        *c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
    const char *path = need_env(var);
    const char *argv[16] = {path};
    int n = 1;
    for (; args && args[n - 1] && n < 15; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork failed");
    if (pid == 0) {
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0)
                dup2(fd, STDERR_FILENO);
        }
        execv(path, (char *const *)argv);
        fprintf(stderr, "cannot exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    return pid;
}

pid_t harness_spawn(const char *binary, const char *const *args)
{
    return spawn(binary, args, NULL);
}

pid_t harness_spawn_logged(const char *binary, const char *const *args, const char *log_path)
{
    return spawn(binary, args, log_path);
}

int harness_count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

void harness_wait_lines(const char *path, const char *needle, int n, double timeout_s,
                        const char *what)
{
    double end = weft_clock_s() + timeout_s;
    while (harness_count_lines(path, needle) < n) {
        cr_assert_lt(weft_clock_s(), end, "%s within %.0f s", what, timeout_s);
        usleep(100 * 1000);
    }
}

void harness_rabbitmqctl(const char *args)
{
    char *cmd = weft_xasprintf("%s/../../deploy/services.sh rabbitmqctl %s >/dev/null 2>&1",
                               need_env("WEFT_TEST_DATA_DIR"), args);
    int rc = harness_run(cmd, NULL);
    cr_assert(rc == 0, "rabbitmqctl %s failed (exit %d)", args, rc);
    free(cmd);
}

char *harness_sql_value(const char *sql, int n, const char *const *p)
{
    PGconn *c = PQconnectdb(need_env("WEFT_DATABASE_URL"));
    cr_assert(PQstatus(c) == CONNECTION_OK, "postgres: %s", PQerrorMessage(c));
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
              PQerrorMessage(c));
    char *v = PQgetisnull(r, 0, 0) ? NULL : weft_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

long harness_sql_long(const char *sql, const char *uid)
{
    const char *p[] = {uid};
    char *v = harness_sql_value(sql, 1, p);
    cr_assert(v, "%s", sql);
    long n = atol(v);
    free(v);
    return n;
}

void harness_start(harness_procs *p, int activity_concurrency)
{
    harness_start_logged(p, activity_concurrency, NULL);
}

void harness_start_logged(harness_procs *p, int activity_concurrency, const char *activity_log)
{
    char conc[16];
    snprintf(conc, sizeof conc, "%d", activity_concurrency);
    mkdir(need_env("WEFT_DATA_DIR"), 0755);
    const char *act_args[] = {"--concurrency", conc, NULL};
    p->entry = harness_spawn("weft-entry", NULL);
    p->activity = activity_log ? harness_spawn_logged("weft-activity", act_args, activity_log)
                               : harness_spawn("weft-activity", act_args);
    p->handoff = harness_spawn("weft-handoff", NULL);
    usleep(300 * 1000);
    cr_assert(harness_alive(p->entry), "weft-entry exited at start");
    cr_assert(harness_alive(p->activity), "weft-activity exited at start");
    cr_assert(harness_alive(p->handoff), "weft-handoff exited at start");
}

pid_t harness_start_fixture(const char *script, const char *arg, int *port)
{
    /* arg may be harness_data's buffer, which the next call reuses */
    char path[1024], *arg_copy = weft_xstrdup(arg);
    snprintf(path, sizeof path, "%s", harness_data(script));
    const char *python = getenv("WEFT_TEST_PYTHON");
    int fds[2];
    cr_assert(pipe(fds) == 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl(python ? python : "/usr/bin/python3", "python3", path, arg_copy, (char *)NULL);
        _exit(127);
    }
    free(arg_copy);
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    cr_assert(fscanf(f, "%d", port) == 1, "the fixture %s did not start", script);
    fclose(f);
    return pid;
}

void harness_stop_one(pid_t pid, const char *name)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 300; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "%s did not exit cleanly on SIGTERM (status %d)", name, status);
            return;
        }
        usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    cr_expect(false, "%s did not stop within 15 s of SIGTERM", name);
}

void harness_stop(harness_procs *p)
{
    harness_stop_one(p->entry, "weft-entry");
    harness_stop_one(p->activity, "weft-activity");
    harness_stop_one(p->handoff, "weft-handoff");
    memset(p, 0, sizeof *p);
}

weft_store *harness_store(void)
{
    weft_store *s = NULL;
    weft_err err = {0};
    weft_status st = weft_store_connect(need_env("WEFT_DATABASE_URL"), &s, &err);
    cr_assert(st == WEFT_OK, "postgres: %s", err.msg);
    return s;
}

weft_broker *harness_broker(void)
{
    weft_broker *b = NULL;
    weft_err err = {0};
    weft_status st = weft_broker_connect(need_env("WEFT_AMQP_URL"), NULL, 0, &b, &err);
    cr_assert(st == WEFT_OK, "rabbitmq: %s", err.msg);
    return b;
}

void harness_publish(const char *queue, const char *body)
{
    weft_broker *b = harness_broker();
    weft_err err = {0};
    weft_status st = weft_broker_publish(b, queue, body, strlen(body), 0, &err);
    if (!st)
        st = weft_broker_wait_confirms(b, 10000, &err);
    cr_assert(st == WEFT_OK, "publish to %s: %s", queue, err.msg);
    weft_broker_destroy(b);
}

void harness_submit(const char *definition, const char *inputs, char uid[WEFT_UUID_LEN + 1])
{
    json_t *doc = json_loads(definition, 0, NULL);
    cr_assert(doc, "test definition is not JSON: %s", definition);
    json_t *in = inputs ? json_loads(inputs, 0, NULL) : json_object();
    cr_assert(in, "test inputs are not JSON");
    weft_uuid_new(uid);
    size_t len;
    char *body = weft_msg_encode_entry(doc, in, uid, &len);
    harness_publish(WEFT_QUEUE_ENTRY, body);
    free(body);
    json_decref(doc);
    json_decref(in);
}

void harness_submit_one(const char *task, const char *fields, int max_retries,
                        char uid[WEFT_UUID_LEN + 1])
{
    char *def =
        weft_xasprintf("{\"name\":\"one\",\"activities\":[{\"name\":\"a\",\"task\":\"%s\"%s,"
                       "\"retry\":{\"max_retries\":%d,\"initial_delay_ms\":50}}]}",
                       task, fields, max_retries);
    harness_submit(def, NULL, uid);
    free(def);
}

void harness_wait(const char *uid, double timeout_s, weft_workflow_info *out)
{
    weft_store *s = harness_store();
    double end = weft_clock_s() + timeout_s;
    for (;;) {
        weft_err err = {0};
        weft_status st = weft_store_workflow(s, uid, out, &err);
        cr_assert(st == WEFT_OK || st == WEFT_ENOTFOUND, "%s", err.msg);
        if (st == WEFT_OK && weft_workflow_status_terminal(out->status))
            break;
        cr_assert(weft_clock_s() < end, "workflow %s not finished after %.0f s (status %s)", uid,
                  timeout_s,
                  st == WEFT_OK ? weft_workflow_status_name(out->status) : "not created");
        if (st == WEFT_OK)
            weft_workflow_info_finish(out);
        weft_store_wait_notify(s, 200, &err);
    }
    weft_store_destroy(s);
}

/* Ready plus unacknowledged messages in each of n queues, into counts. AMQP's passive
 * declare counts only ready ones, so this asks rabbitmqctl. */
static void queue_messages(const char *const *queues, size_t n, long *counts)
{
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd,
             "'%s' rabbitmqctl list_queues name messages_ready messages_unacknowledged 2>&1",
             need_env("WEFT_SERVICES_SH"));
    int rc = harness_run(cmd, &out);
    cr_assert_eq(rc, 0, "rabbitmqctl list_queues failed: %s", out);
    size_t seen = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char name[256];
        long ready, unacked;
        if (sscanf(line, "%255s %ld %ld", name, &ready, &unacked) != 3)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(name, queues[i]) == 0) {
                counts[i] = ready + unacked;
                seen++;
            }
        }
    }
    cr_assert_eq(seen, n, "rabbitmqctl did not list the queues asked for: %s", out);
    free(out);
}

long harness_queue_messages(const char *queue)
{
    long n = 0;
    queue_messages(&queue, 1, &n);
    return n;
}

static long work_queue_messages(void)
{
    static const char *const queues[] = {WEFT_QUEUE_ENTRY, WEFT_QUEUE_DEFAULT, WEFT_QUEUE_HANDOFF};
    long counts[3] = {0};
    queue_messages(queues, 3, counts);
    return counts[0] + counts[1] + counts[2];
}

void harness_wait_handled(double timeout_s)
{
    double end = weft_clock_s() + timeout_s;
    /* two empty readings: rabbitmqctl reads the queues one after another, so one reading may
     * miss a follow-up published to a queue it had already read */
    for (int empty = 0;;) {
        long left = work_queue_messages();
        empty = left == 0 ? empty + 1 : 0;
        if (empty == 2)
            return;
        cr_assert(weft_clock_s() < end, "%ld messages still queued or unacknowledged after %.0f s",
                  left, timeout_s);
        usleep(100 * 1000);
    }
}

json_t *harness_activities(const char *uid)
{
    weft_store *s = harness_store();
    json_t *acts = NULL;
    weft_err err = {0};
    cr_assert(weft_store_activities(s, uid, &acts, &err) == WEFT_OK, "%s", err.msg);
    weft_store_destroy(s);
    return acts;
}

json_t *harness_activity(json_t *activities, const char *name)
{
    size_t i;
    json_t *a;
    json_array_foreach(activities, i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "name")), name) == 0)
            return a;
    }
    cr_assert(false, "no activity named '%s'", name);
    return NULL;
}

/* Whether text holds every needle of ap (a copy is read). */
static bool holds_all(const char *text, va_list ap)
{
    va_list each;
    va_copy(each, ap);
    bool all = text != NULL;
    for (const char *n; all && (n = va_arg(each, const char *));)
        all = strstr(text, n) != NULL;
    va_end(each);
    return all;
}

void harness_expect_failed(const char *uid, const char *activity, int attempts, double timeout_s,
                           ...)
{
    va_list ap;
    va_start(ap, timeout_s);
    weft_workflow_info w;
    harness_wait(uid, timeout_s, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_FAILED, "workflow %s (activity '%s')", uid, activity);
    cr_assert(holds_all(w.error, ap), "workflow %s activity '%s': the workflow's error: %s", uid,
              activity, w.error ? w.error : "(none)");
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    json_t *att = json_object_get(harness_activity(acts, activity), "attempts");
    cr_assert_eq(json_array_size(att), (size_t)attempts, "attempts of workflow %s activity '%s'",
                 uid, activity);
    size_t k;
    json_t *a;
    json_array_foreach(att, k, a)
    {
        const char *e = json_string_value(json_object_get(a, "error"));
        cr_assert(holds_all(e, ap), "workflow %s activity '%s' attempt %zu: %s", uid, activity,
                  k + 1, e ? e : "(none)");
    }
    json_decref(acts);
    va_end(ap);
}

void harness_expect_completed(const char *uid, const char *activity, int attempts, double timeout_s)
{
    weft_workflow_info w;
    harness_wait(uid, timeout_s, &w);
    cr_assert_eq(w.status, WEFT_WORKFLOW_COMPLETED, "workflow %s: error: %s", uid,
                 w.error ? w.error : "");
    weft_workflow_info_finish(&w);
    json_t *acts = harness_activities(uid);
    cr_assert_eq(json_array_size(json_object_get(harness_activity(acts, activity), "attempts")),
                 (size_t)attempts, "attempts of workflow %s activity '%s'", uid, activity);
    json_decref(acts);
}

void harness_expect_failures(const harness_failure *cases, size_t n, const char *fields,
                             int max_retries)
{
    char(*uids)[WEFT_UUID_LEN + 1] = weft_xcalloc(n, sizeof *uids);
    for (size_t i = 0; i < n; i++)
        harness_submit_one(cases[i].task, fields, max_retries, uids[i]);
    for (size_t i = 0; i < n; i++)
        harness_expect_failed(uids[i], "a", cases[i].attempts, 60, cases[i].task, cases[i].error,
                              NULL);
    free(uids);
}

json_t *harness_wait_activity(const char *uid, const char *name, const char *status,
                              double timeout_s)
{
    double end = weft_clock_s() + timeout_s;
    for (;;) {
        json_t *acts = harness_activities(uid);
        const char *now = NULL;
        size_t i;
        json_t *a;
        json_array_foreach(acts, i, a)
        {
            if (strcmp(json_string_value(json_object_get(a, "name")), name) == 0)
                now = json_string_value(json_object_get(a, "status"));
        }
        if (now && strcmp(now, status) == 0)
            return acts;
        cr_assert(weft_clock_s() < end, "activity '%s' of %s not %s after %.0f s (it is %s)", name,
                  uid, status, timeout_s, now ? now : "not created");
        json_decref(acts);
        usleep(20 * 1000);
    }
}

/* Takes messages from queue until one whose body contains marker (true, *out filled, release
 * with weft_delivery_finish) or timeout_s passes (false). Other messages are dropped. */
static bool take(const char *queue, const char *marker, double timeout_s, weft_delivery *out)
{
    weft_broker *b = harness_broker();
    double end = weft_clock_s() + timeout_s;
    bool found = false;
    while (!found && weft_clock_s() < end) {
        weft_err err = {0};
        weft_status st = weft_broker_get(b, queue, out, &err);
        if (st == WEFT_ENOTFOUND) {
            usleep(100 * 1000);
            continue;
        }
        cr_assert(st == WEFT_OK, "%s", err.msg);
        found = strstr(out->body, marker) != NULL;
        if (!found)
            weft_delivery_finish(out);
    }
    weft_broker_destroy(b);
    return found;
}

char *harness_take(const char *queue, const char *marker, double timeout_s)
{
    weft_delivery d;
    if (!take(queue, marker, timeout_s, &d))
        return NULL;
    char *body = weft_xstrdup(d.body);
    weft_delivery_finish(&d);
    return body;
}

char *harness_dead_find(const char *marker, double timeout_s)
{
    weft_delivery d;
    if (!take(WEFT_QUEUE_DEAD, marker, timeout_s, &d))
        return NULL;
    char *reason = weft_xstrdup(d.reason ? d.reason : "(no x-weft-reason header)");
    weft_delivery_finish(&d);
    return reason;
}

int harness_run(const char *cmdline, char **out)
{
    FILE *f = popen(cmdline, "r");
    cr_assert(f, "cannot run %s", cmdline);
    size_t cap = 4096, n = 0;
    char *buf = weft_xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 >= cap)
            buf = weft_xrealloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    int status = pclose(f);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void harness_write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f, "%s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert(fclose(f) == 0, "%s", path);
}

char *harness_write_temp(const char *content)
{
    char *path = weft_xstrdup("/tmp/weft-test-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "cannot create a temporary file");
    FILE *f = fdopen(fd, "w");
    fputs(content, f);
    fclose(f);
    return path;
}

const char *harness_data(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", need_env("WEFT_TEST_DATA_DIR"), name);
    return path;
}

int harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &n) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    FILE *f = arg;
    return fwrite(data, size, n, f);
}

char *harness_http(const char *method, const char *url, const char *token, const char *body,
                   long *status, char **headers)
{
    CURL *c = curl_easy_init();
    cr_assert(c);
    char *out = NULL, *hdr = NULL;
    size_t out_n = 0, hdr_n = 0;
    FILE *fo = open_memstream(&out, &out_n), *fh = open_memstream(&hdr, &hdr_n);
    struct curl_slist *h = NULL;
    char *auth = token ? weft_xasprintf("Authorization: Bearer %s", token) : NULL;
    if (auth)
        h = curl_slist_append(h, auth);
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, fo);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, fh);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    fclose(fo);
    fclose(fh);
    curl_slist_free_all(h);
    free(auth);
    curl_easy_cleanup(c);
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror(rc));
    if (headers)
        *headers = hdr;
    else
        free(hdr);
    return out;
}

void harness_wait_http(int port, const char *path, long want, double timeout_s)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    double end = weft_clock_s() + timeout_s;
    for (;;) {
        CURL *c = curl_easy_init();
        long status = 0;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (status == want)
            return;
        cr_assert_lt(weft_clock_s(), end, "%s answers %ld within %.0f s (last: %ld)", url, want,
                     timeout_s, status);
        usleep(100 * 1000);
    }
}

#include "harness.h"

#include "alloc.h"
#include "message.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *need_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        cr_assert_fail("%s is not set: run the tests through the README's test command", name);
    return v;
}

double harness_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool harness_alive(pid_t pid)
{
    int status;
    return pid > 0 && waitpid(pid, &status, WNOHANG) == 0;
}

pid_t harness_spawn(const char *binary, const char *const *args)
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
        execv(path, (char *const *)argv);
        fprintf(stderr, "cannot exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    return pid;
}

void harness_start(harness_procs *p, int activity_concurrency)
{
    char conc[16];
    snprintf(conc, sizeof conc, "%d", activity_concurrency);
    mkdir(need_env("WEFT_DATA_DIR"), 0755);
    const char *act_args[] = {"--concurrency", conc, NULL};
    p->entry = harness_spawn("weft-entry", NULL);
    p->activity = harness_spawn("weft-activity", act_args);
    p->handoff = harness_spawn("weft-handoff", NULL);
    usleep(300 * 1000);
    cr_assert(harness_alive(p->entry), "weft-entry exited at start");
    cr_assert(harness_alive(p->activity), "weft-activity exited at start");
    cr_assert(harness_alive(p->handoff), "weft-handoff exited at start");
}

static void stop_one(pid_t pid, const char *name)
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
    stop_one(p->entry, "weft-entry");
    stop_one(p->activity, "weft-activity");
    stop_one(p->handoff, "weft-handoff");
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
    weft_status st = weft_broker_connect(need_env("WEFT_AMQP_URL"), 0, &b, &err);
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

void harness_wait(const char *uid, double timeout_s, weft_workflow_info *out)
{
    weft_store *s = harness_store();
    double end = harness_now() + timeout_s;
    for (;;) {
        weft_err err = {0};
        weft_status st = weft_store_workflow(s, uid, out, &err);
        cr_assert(st == WEFT_OK || st == WEFT_ENOTFOUND, "%s", err.msg);
        if (st == WEFT_OK && weft_workflow_status_terminal(out->status))
            break;
        cr_assert(harness_now() < end, "workflow %s not finished after %.0f s (status %s)", uid,
                  timeout_s,
                  st == WEFT_OK ? weft_workflow_status_name(out->status) : "not created");
        if (st == WEFT_OK)
            weft_workflow_info_finish(out);
        weft_store_wait_notify(s, 200, &err);
    }
    weft_store_destroy(s);
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

char *harness_dead_find(const char *marker, double timeout_s)
{
    weft_broker *b = harness_broker();
    double end = harness_now() + timeout_s;
    char *reason = NULL;
    while (!reason && harness_now() < end) {
        weft_delivery d;
        weft_err err = {0};
        weft_status st = weft_broker_get(b, WEFT_QUEUE_DEAD, &d, &err);
        if (st == WEFT_ENOTFOUND) {
            usleep(100 * 1000);
            continue;
        }
        cr_assert(st == WEFT_OK, "%s", err.msg);
        if (strstr(d.body, marker))
            reason = weft_xstrdup(d.reason ? d.reason : "(no x-weft-reason header)");
        weft_delivery_finish(&d);
    }
    weft_broker_destroy(b);
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

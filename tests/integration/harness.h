/* Test harness for integration tests: the real RabbitMQ, Postgres and Redis (their URLs in
 * WEFT_AMQP_URL, WEFT_DATABASE_URL, WEFT_REDIS_URL, set by the test command) and weft's
 * binaries (WEFT_BIN_WEFT_ENTRY and so on, set by meson) as separate processes; queue depths
 * come from `deploy/services.sh rabbitmqctl` (WEFT_SERVICES_SH, set by meson, for the
 * services of WEFT_STATE_DIR). A missing service fails the test. */
#ifndef WEFT_TEST_HARNESS_H
#define WEFT_TEST_HARNESS_H

#include "broker.h"
#include "store.h"

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct {
    pid_t entry, activity, handoff;
} harness_procs;

/* Starts weft-entry, weft-activity (--concurrency n) and weft-handoff; asserts they run. */
void harness_start(harness_procs *p, int activity_concurrency);
/* harness_start with weft-activity's log appended to activity_log (borrowed; NULL: the
 * test's stderr). */
void harness_start_logged(harness_procs *p, int activity_concurrency, const char *activity_log);
/* Starts a Python fixture server, script (borrowed; relative to the tests' data folder, as
 * harness_data) with one argument arg (borrowed), on Debian's python3 (WEFT_TEST_PYTHON), and
 * reads the port it prints first into *port; returns its pid (SIGTERM ends it). */
pid_t harness_start_fixture(const char *script, const char *arg, int *port);
/* SIGTERM to each, then waits; asserts each exited 0. */
void harness_stop(harness_procs *p);
/* SIGTERM to pid (nothing for pid <= 0), then waits; expects it exited 0 within 15 s (name,
 * borrowed, says who in the message), else kills it. */
void harness_stop_one(pid_t pid, const char *name);
/* Starts one binary ("weft-entry", ...) with extra args (NULL-terminated). */
pid_t harness_spawn(const char *binary, const char *const *args);
/* harness_spawn with the binary's stderr (its log) appended to log_path (borrowed). */
pid_t harness_spawn_logged(const char *binary, const char *const *args, const char *log_path);
/* How many lines of the file at path contain needle (0 for a missing file). */
int harness_count_lines(const char *path, const char *needle);
/* Waits until at least n lines of the file at path contain needle (asserts within
 * timeout_s, naming what). */
void harness_wait_lines(const char *path, const char *needle, int n, double timeout_s,
                        const char *what);
/* Runs `deploy/services.sh rabbitmqctl ARGS` (args: one shell-quoted string); asserts it
 * succeeded. */
void harness_rabbitmqctl(const char *args);
/* A Postgres query's single value (new string; NULL for SQL NULL), parameters $1.. in p. */
char *harness_sql_value(const char *sql, int n, const char *const *p);

/* harness_sql_value of a query of one parameter, uid (borrowed), whose value is a whole number
 * (asserts it is not NULL). */
long harness_sql_long(const char *sql, const char *uid);

/* True while pid runs. */
bool harness_alive(pid_t pid);

/* A store connection (asserts). */
weft_store *harness_store(void);
/* A broker connection (asserts). */
weft_broker *harness_broker(void);

/* Publishes body to queue with a confirm (asserts). */
void harness_publish(const char *queue, const char *body);
/* Submits a definition (JSON text) with inputs (JSON text or NULL) under a new uid. */
void harness_submit(const char *definition, const char *inputs, char uid[WEFT_UUID_LEN + 1]);
/* Submits a workflow of one activity, named "a", of task with max_retries retries 50 ms
 * apart; fields (borrowed): more members of the activity, JSON text starting with a comma
 * (",\"params\":{...}"), or "". */
void harness_submit_one(const char *task, const char *fields, int max_retries,
                        char uid[WEFT_UUID_LEN + 1]);
/* Waits until the workflow is terminal or timeout_s passes (asserts it ended). */
void harness_wait(const char *uid, double timeout_s, weft_workflow_info *out);

/* Waits until workflow_entry, default and workflow_handoff hold no message, neither ready
 * nor delivered and unacknowledged, in two readings in a row (asserts within timeout_s).
 * Each consumer acks only after it has committed and published its follow-ups, so then
 * every message published before the call has been handled, and so have the messages it
 * led to. Call it before asserting that a message changed nothing: with no consumer the
 * message stays and the wait fails. */
void harness_wait_handled(double timeout_s);

/* Messages queue holds, ready or delivered and unacknowledged (asserts rabbitmqctl works). */
long harness_queue_messages(const char *queue);

/* The activities of a workflow as JSON (new reference), and one of them by name (borrowed). */
json_t *harness_activities(const char *uid);
json_t *harness_activity(json_t *activities, const char *name);
/* Waits until workflow uid failed (asserts within timeout_s) after `attempts` attempts of its
 * activity `activity`; the workflow's error and each attempt's error must hold every one of
 * the needles that follow (strings, then NULL). */
void harness_expect_failed(const char *uid, const char *activity, int attempts, double timeout_s,
                           ...);

/* Waits until workflow uid completed (asserts within timeout_s) after `attempts` attempts of
 * its activity `activity`. */
void harness_expect_completed(const char *uid, const char *activity, int attempts,
                              double timeout_s);

/* One way a task fails: the error its attempts record, how many it makes (1: PERMANENT;
 * max_retries + 1: TRANSIENT, retried until none is left). */
typedef struct {
    const char *task, *error;
    int attempts;
} harness_failure;

/* Submits a one-activity workflow (harness_submit_one) of each of the n tasks of cases
 * (borrowed) at once, with fields and max_retries, then expects each to fail as its case says
 * (harness_expect_failed), its errors naming the task. */
void harness_expect_failures(const harness_failure *cases, size_t n, const char *fields,
                             int max_retries);

/* Waits until activity name of workflow uid has status (asserts within timeout_s); returns
 * the workflow's activities then (new reference), as harness_activities does. */
json_t *harness_wait_activity(const char *uid, const char *name, const char *status,
                              double timeout_s);

/* Takes messages from queue until one whose body contains marker; returns its body (new
 * string) or NULL after timeout_s. Other messages are dropped. */
char *harness_take(const char *queue, const char *marker, double timeout_s);

/* Takes messages from weft.dead until one whose body contains marker; returns its reason
 * (new string) or NULL after timeout_s. Other messages are dropped. */
char *harness_dead_find(const char *marker, double timeout_s);

/* Runs a shell command line, returning its exit status; stdout (new string) when out. */
int harness_run(const char *cmdline, char **out);

/* Writes text to the file name in folder dir (all borrowed), replacing it (asserts). */
void harness_write_file(const char *dir, const char *name, const char *text);

/* Writes content to a new temporary file; returns its path (new string). */
char *harness_write_temp(const char *content);

/* The path of a file in the tests data folder (static buffer). */
const char *harness_data(const char *name);

/* A TCP port on 127.0.0.1 that was free a moment ago (for --metrics and --http). */
int harness_free_port(void);

/* Waits until http://127.0.0.1:port/path answers with status want (asserts within
 * timeout_s). */
void harness_wait_http(int port, const char *path, long want, double timeout_s);

/* One HTTP request to url (borrowed) with an optional bearer token and body (NULL: none);
 * returns the response body (new string), *status the HTTP status, and when headers is not
 * NULL the response headers (new string). Asserts the request was answered. */
char *harness_http(const char *method, const char *url, const char *token, const char *body,
                   long *status, char **headers);

#endif

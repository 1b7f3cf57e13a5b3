/* Http tasks: the signature is HMAC-SHA256 as RFC 4231 defines it, over the very bytes
 * posted; what an answer's status and body make of the attempt; and the attempt's own ends
 * (no connection, no answer in time, a stop past its grace) against loopback sockets. */
#include "http_task.h"

#include "clock.h"
#include "stop.h"
#include "task_protocol.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

TestSuite(http_task, .init = init);

/* The signature header's value for key (klen bytes) over data. */
static void expect_signature(const void *key, size_t klen, const char *data, const char *hex)
{
    char got[WEFT_HTTP_SIGNATURE_LEN], want[WEFT_HTTP_SIGNATURE_LEN];
    weft_http_task_signature(key, klen, data, strlen(data), got);
    snprintf(want, sizeof want, "sha256=%s", hex);
    cr_assert_str_eq(got, want);
}

Test(http_task, signature_is_hmac_sha256_of_rfc_4231)
{
    unsigned char key1[20], key6[131];
    memset(key1, 0x0b, sizeof key1);
    memset(key6, 0xaa, sizeof key6);
    /* test cases 1, 2 and 6: a short key, a text key, a key longer than SHA-256's block */
    expect_signature(key1, sizeof key1, "Hi There",
                     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    expect_signature("Jefe", 4, "what do ya want for nothing?",
                     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    expect_signature(key6, sizeof key6, "Test Using Larger Than Block-Size Key - Hash Key First",
                     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

Test(http_task, status_decides_before_the_body)
{
    static const struct {
        long status;
        weft_task_result r;
    } table[] = {{200, WEFT_TASK_OK},        {204, WEFT_TASK_OK},        {302, WEFT_TASK_PERMANENT},
                 {400, WEFT_TASK_PERMANENT}, {401, WEFT_TASK_PERMANENT}, {404, WEFT_TASK_PERMANENT},
                 {408, WEFT_TASK_TRANSIENT}, {429, WEFT_TASK_TRANSIENT}, {500, WEFT_TASK_TRANSIENT},
                 {503, WEFT_TASK_TRANSIENT}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        cr_assert_eq(weft_http_status_result(table[i].status), table[i].r, "%ld", table[i].status);
}

#define ID "a-uid/1"
#define URL "http://h/x"

/* Judges an answer of task 'n' to attempt ID; the error in err. */
static weft_task_result answer(long status, const char *body, json_t **out, char *err, size_t n)
{
    return weft_http_task_answer("n", URL, ID, status, body, strlen(body), out, err, n);
}

static void expect_failure(long status, const char *body, weft_task_result r, const char *msg)
{
    json_t *out = NULL;
    char err[512] = "";
    cr_assert_eq(answer(status, body, &out, err, sizeof err), r, "%ld %s: %s", status, body, err);
    cr_assert_null(out);
    cr_assert_str_eq(err, msg);
}

/* The data an answer gives, as compact JSON text (static). */
static const char *data_of(long status, const char *body)
{
    static char text[512];
    json_t *out = NULL;
    char err[512] = "";
    cr_assert_eq(answer(status, body, &out, err, sizeof err), WEFT_TASK_OK, "%s: %s", body, err);
    char *dump = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(text, sizeof text, "%s", dump);
    free(dump);
    json_decref(out);
    return text;
}

Test(http_task, a_2xx_result_object_is_that_result_and_any_other_object_is_the_data)
{
    cr_assert_str_eq(data_of(200, "{\"id\":\"" ID "\",\"status\":\"success\",\"data\":{\"x\":1}}"),
                     "{\"x\":1}");
    cr_assert_str_eq(data_of(200, "{\"status\":\"success\",\"data\":{\"x\":2}}"), "{\"x\":2}",
                     "the id is optional");
    cr_assert_str_eq(data_of(201, "{\"status\":\"success\"}"), "{}");
    cr_assert_str_eq(data_of(200, "{\"sent\":true,\"status\":\"queued\"}"),
                     "{\"sent\":true,\"status\":\"queued\"}", "not a result: the data");
    expect_failure(200,
                   "{\"status\":\"failure\",\"error\":{\"code\":\"PERMANENT_ERROR\","
                   "\"message\":\"no such user\"}}",
                   WEFT_TASK_PERMANENT, "n: no such user");
    expect_failure(200,
                   "{\"id\":\"" ID "\",\"status\":\"failure\",\"error\":{\"code\":"
                   "\"TRANSIENT_ERROR\",\"message\":\"busy\"}}",
                   WEFT_TASK_TRANSIENT, "n: busy");
}

Test(http_task, every_other_answer_is_an_error_naming_the_task_and_the_url)
{
    expect_failure(200, "hello", WEFT_TASK_PERMANENT,
                   "task 'n': POST " URL " answered 200 with a body that is not a JSON object:"
                   " 'hello'");
    expect_failure(200, "[1]", WEFT_TASK_PERMANENT,
                   "task 'n': POST " URL " answered 200 with a body that is not a JSON object:"
                   " '[1]'");
    expect_failure(204, "", WEFT_TASK_PERMANENT,
                   "task 'n': POST " URL " answered 204 with a body that is not a JSON object:"
                   " ''");
    expect_failure(200, "{\"id\":\"other/1\",\"status\":\"success\"}", WEFT_TASK_PERMANENT,
                   "task 'n' answered for \"other/1\", not for this attempt \"" ID "\"");
    expect_failure(200, "{\"status\":\"failure\",\"error\":{\"code\":\"OOPS\"}}",
                   WEFT_TASK_PERMANENT,
                   "task 'n' answered failure without an error code TRANSIENT_ERROR or"
                   " PERMANENT_ERROR");
    expect_failure(200, "{\"status\":\"success\",\"data\":[1]}", WEFT_TASK_PERMANENT,
                   "task 'n' answered success with \"data\" that is not a JSON object");
    expect_failure(404, "no such hook\n", WEFT_TASK_PERMANENT,
                   "task 'n': POST " URL " answered 404: 'no such hook?'");
    expect_failure(401, "", WEFT_TASK_PERMANENT, "task 'n': POST " URL " answered 401");
    expect_failure(302, "", WEFT_TASK_PERMANENT,
                   "task 'n': POST " URL " answered 302 (redirects are not followed)");
    expect_failure(503, "try later", WEFT_TASK_TRANSIENT,
                   "task 'n': POST " URL " answered 503: 'try later'");
    /* the body is shown bounded */
    char big[1000], want[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    snprintf(want, sizeof want, "task 'n': POST " URL " answered 500: '%.*s...'", 200, big);
    expect_failure(500, big, WEFT_TASK_TRANSIENT, want);
}

/* A loopback socket listening on a free port (*port); never accepted unless a test does. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    cr_assert(listen(fd, 4) == 0);
    cr_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int idle_calls;
static void count_idle(void *arg, int ms)
{
    idle_calls++;
}

static json_t *input;
static weft_task_ctx ctx = {
    .workflow_uid = "w-uid", .activity_uid = "a-uid", .activity_name = "hook", .attempt = 1};

/* Runs an attempt of task "n" at port with timeout_s and grace_s. */
static weft_task_result run(int port, const char *secret, int timeout_s, int grace_s, json_t **out,
                            char *err, size_t n, bool *abandoned)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", port);
    weft_taskfile_http t = {.name = "n",
                            .url = url,
                            .secret = (char *)secret,
                            .secret_len = secret ? strlen(secret) : 0};
    input = json_pack("{s:i}", "a", 2);
    ctx.input = input;
    ctx.params = input;
    json_t *up = json_object();
    ctx.upstream = up;
    weft_runner_opts opts = {.grace_s = grace_s, .idle = count_idle};
    idle_calls = 0;
    weft_task_result r = weft_http_task_run(&t, &ctx, timeout_s, &opts, 0, out, err, n, abandoned);
    json_decref(input);
    json_decref(up);
    return r;
}

Test(http_task, a_refused_connection_is_transient)
{
    int port, fd = listen_loopback(&port);
    close(fd); /* nothing listens there now */
    json_t *out = NULL;
    char err[512] = "";
    bool abandoned = true;
    cr_assert_eq(run(port, NULL, 5, 1, &out, err, sizeof err, &abandoned), WEFT_TASK_TRANSIENT);
    cr_assert_not(abandoned);
    char want[128];
    snprintf(want, sizeof want, "task 'n': POST http://127.0.0.1:%d/hook failed: ", port);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
}

Test(http_task, no_answer_within_the_limit_is_transient_and_the_thread_kept_idling)
{
    int port, fd = listen_loopback(&port); /* the kernel accepts; nobody answers */
    json_t *out = NULL;
    char err[512] = "";
    bool abandoned = true;
    double t0 = weft_clock_s();
    cr_assert_eq(run(port, NULL, 1, 30, &out, err, sizeof err, &abandoned), WEFT_TASK_TRANSIENT);
    double took = weft_clock_s() - t0;
    cr_assert_not(abandoned);
    cr_assert(took >= 1 && took < 2, "%.2f s", took);
    char want[128];
    snprintf(want, sizeof want, "task 'n' timed out after 1 s (POST http://127.0.0.1:%d/hook)",
             port);
    cr_assert_str_eq(err, want);
    cr_assert_geq(idle_calls, 5, "idle about every 100 ms: %d", idle_calls);
    close(fd);
}

Test(http_task, a_stop_request_past_its_grace_abandons_the_attempt)
{
    int port, fd = listen_loopback(&port);
    json_t *out = NULL;
    char err[512] = "";
    bool abandoned = false;
    weft_stop_requested = 1;
    double t0 = weft_clock_s();
    weft_task_result r = run(port, NULL, 30, 0, &out, err, sizeof err, &abandoned);
    weft_stop_requested = 0;
    cr_assert_eq(r, WEFT_TASK_TRANSIENT);
    cr_assert(abandoned, "handed back, not failed");
    cr_assert_lt(weft_clock_s() - t0, 1.0);
    cr_assert_str_eq(err, "stopped by shutdown");
    close(fd);
}

/* One request read by a thread of the test, answered with a fixed result. */
typedef struct {
    int fd;
    char raw[65536];
    size_t len;
} one_request;

static void *serve_one(void *arg)
{
    one_request *q = arg;
    int c = accept(q->fd, NULL, NULL);
    /* headers, then Content-Length bytes */
    for (;;) {
        ssize_t got = read(c, q->raw + q->len, sizeof q->raw - 1 - q->len);
        if (got <= 0)
            break;
        q->len += (size_t)got;
        q->raw[q->len] = '\0';
        char *end = strstr(q->raw, "\r\n\r\n"), *cl = strcasestr(q->raw, "content-length:");
        if (end && cl && q->len >= (size_t)(end + 4 - q->raw) + strtoul(cl + 15, NULL, 10))
            break;
    }
    const char *reply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        "Content-Length: 25\r\nConnection: close\r\n\r\n"
                        "{\"status\":\"success\"}     ";
    cr_assert_eq(write(c, reply, strlen(reply)), (ssize_t)strlen(reply));
    close(c);
    return NULL;
}

Test(http_task, the_post_carries_the_request_object_and_its_signature)
{
    one_request q = {.len = 0};
    int port;
    q.fd = listen_loopback(&port);
    pthread_t th;
    pthread_create(&th, NULL, serve_one, &q);
    json_t *out = NULL;
    char err[512] = "";
    bool abandoned;
    cr_assert_eq(run(port, "Jefe", 5, 1, &out, err, sizeof err, &abandoned), WEFT_TASK_OK, "%s",
                 err);
    pthread_join(th, NULL);
    close(q.fd);
    cr_assert(json_is_object(out) && json_object_size(out) == 0);
    json_decref(out);
    cr_assert_eq(strncmp(q.raw, "POST /hook HTTP/1.1\r\n", 21), 0, "%s", q.raw);
    cr_assert(strcasestr(q.raw, "\r\nContent-Type: application/json\r\n"), "%s", q.raw);
    const char *body = strstr(q.raw, "\r\n\r\n") + 4;
    /* the exec tasks' request object, to the byte */
    json_t *in = json_pack("{s:i}", "a", 2), *up = json_object();
    weft_task_ctx c = ctx;
    c.input = c.params = in;
    c.upstream = up;
    size_t len;
    char *want = weft_protocol_request("n", "a-uid/1", &c, &len);
    cr_assert_str_eq(body, want);
    char sig[WEFT_HTTP_SIGNATURE_LEN], header[128];
    weft_http_task_signature("Jefe", 4, want, len, sig);
    snprintf(header, sizeof header, "\r\nX-Weft-Signature: %s\r\n", sig);
    cr_assert(strstr(q.raw, header), "%s lacks %s", q.raw, header);
    free(want);
    json_decref(in);
    json_decref(up);
}

#include "api.h"

#include "catalog.h"

#include "alloc.h"
#include "broker.h"
#include "dashboard.h"
#include "definition.h"
#include "http_server.h"
#include "log.h"
#include "message.h"
#include "progress.h"
#include "store.h"
#include "store_view.h"
#include "workflow_report.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A confirm normally takes milliseconds; a broker under an alarm may hold it much longer,
 * and the client would rather hear 503 and retry than hang. */
#define PUBLISH_CONFIRM_MS 10000
#define JSON_TYPE "application/json"

struct weft_api {
    weft_http_server *http;
    const weft_task_registry *tasks;
    weft_limits limits;
    unsigned char token_digest[32]; /* SHA-256 of the token: compared, never the token */
    char *database_url, *amqp_url, *amqp_cacert;
    /* the store pool: idle connections, and how many exist (idle or lent) */
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    weft_store *idle[WEFT_API_STORE_POOL];
    size_t nidle, nopen;
    /* the publishing connection, NULL until first used or after it failed */
    pthread_mutex_t pub_mu;
    weft_broker *broker;
};

/* ---- the token ---- */

static void digest(const char *s, size_t len, unsigned char out[32])
{
    unsigned n = 32;
    if (!EVP_Digest(s, len, out, &n, EVP_sha256(), NULL))
        abort(); /* only out of memory: alloc.h's rule */
}

/* The token is the file's content less trailing white space (an editor's newline). */
static weft_status read_token(weft_api *a, const char *path, weft_err *err)
{
    if (!path)
        return weft_err_set(err, WEFT_EINVAL,
                            "--http needs WEFT_API_TOKEN_FILE, the file holding the API token");
    FILE *f = fopen(path, "r");
    if (!f)
        return weft_err_set(err, WEFT_EINVAL, "WEFT_API_TOKEN_FILE: cannot read '%s': %s", path,
                            strerror(errno));
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    if (n == 0)
        return weft_err_set(err, WEFT_EINVAL, "WEFT_API_TOKEN_FILE: '%s' is empty", path);
    digest(buf, n, a->token_digest);
    OPENSSL_cleanse(buf, sizeof buf);
    return WEFT_OK;
}

/* Compares digests, so the time taken says nothing about the token or its length. */
static bool authorized(const weft_api *a, const weft_http_request *req)
{
    const char *h = weft_http_request_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *t = h + 7;
    unsigned char d[32];
    digest(t, strlen(t), d);
    return CRYPTO_memcmp(d, a->token_digest, sizeof d) == 0;
}

/* ---- Postgres and the broker ---- */

static weft_store *store_take(weft_api *a, weft_err *err)
{
    pthread_mutex_lock(&a->pool_mu);
    while (a->nidle == 0 && a->nopen == WEFT_API_STORE_POOL)
        pthread_cond_wait(&a->pool_cv, &a->pool_mu);
    if (a->nidle > 0) {
        weft_store *s = a->idle[--a->nidle];
        pthread_mutex_unlock(&a->pool_mu);
        return s;
    }
    a->nopen++;
    pthread_mutex_unlock(&a->pool_mu);
    weft_store *s = NULL;
    if (weft_store_connect(a->database_url, &s, err)) {
        pthread_mutex_lock(&a->pool_mu);
        a->nopen--;
        pthread_cond_signal(&a->pool_cv);
        pthread_mutex_unlock(&a->pool_mu);
        return NULL;
    }
    return s;
}

/* Back to the pool: a store heals its connection on its next use (store.h). */
static void store_give(weft_api *a, weft_store *s)
{
    pthread_mutex_lock(&a->pool_mu);
    a->idle[a->nidle++] = s;
    pthread_cond_signal(&a->pool_cv);
    pthread_mutex_unlock(&a->pool_mu);
}

/* Publishes body to workflow_entry and waits for its confirm. A connection found dead
 * (the broker restarted since the last request) is replaced and the publish tried once
 * more: a duplicate entry message is harmless (DESIGN §5.3). */
static weft_status publish_entry(weft_api *a, const char *body, size_t len, weft_err *err)
{
    pthread_mutex_lock(&a->pub_mu);
    weft_status st = WEFT_EAMQP;
    for (int tries = 0; tries < 2 && st; tries++) {
        if (!a->broker) {
            /* heartbeats off: nothing services this connection between requests */
            st = weft_broker_connect(a->amqp_url, a->amqp_cacert, 0, &a->broker, err);
            if (st)
                break;
        }
        st = weft_broker_publish(a->broker, WEFT_QUEUE_ENTRY, body, len, 0, err);
        if (!st)
            st = weft_broker_wait_confirms(a->broker, PUBLISH_CONFIRM_MS, err);
        if (st) {
            weft_broker_destroy(a->broker);
            a->broker = NULL;
        }
    }
    pthread_mutex_unlock(&a->pub_mu);
    return st;
}

/* ---- responses ---- */

static void respond_json(weft_http_response *res, int status, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text) {
        weft_http_error(res, 500, "response not encodable as JSON");
        return;
    }
    weft_http_respond_take(res, status, JSON_TYPE, text, strlen(text));
}

/* The HTTP answer to a failed call: what the client can do about it. */
static void respond_status(weft_http_response *res, weft_status st, const weft_err *err)
{
    int code = st == WEFT_EINVAL      ? 400
               : st == WEFT_ENOTFOUND ? 404
               : st == WEFT_ETOOBIG   ? 413
               : st == WEFT_EDB || st == WEFT_EAMQP || st == WEFT_ETIMEOUT || st == WEFT_ESHUTDOWN
                   ? 503
                   : 500;
    weft_http_error(res, code, err->msg[0] ? err->msg : weft_strerror(st));
}

static void method_not_allowed(weft_http_response *res, const char *allow)
{
    char msg[80];
    snprintf(msg, sizeof msg, "method not allowed here: %s", allow);
    weft_http_error(res, 405, msg);
    weft_http_header(res, "Allow", allow);
}

/* ---- the endpoints ---- */

/* The check weft-entry will make of m's definition, made first so that the caller hears of
 * a bad one in the answer: its task types against the catalog (the entry's own and every
 * registered worker's), or, for a create by name, that the stored version exists. On
 * WEFT_OK *def is the parsed definition (NULL for a create by name). */
static weft_status check_definition(weft_api *a, const weft_entry_msg *m, weft_definition **def,
                                    weft_err *err)
{
    *def = NULL;
    weft_store *s = store_take(a, err);
    if (!s)
        return WEFT_EDB;
    weft_status st;
    if (m->definition_name) {
        json_t *doc = NULL;
        int version = 0;
        st = weft_store_definition(s, m->definition_name, m->definition_version, &doc, &version,
                                   err);
        json_decref(doc);
        if (st == WEFT_ENOTFOUND)
            st = WEFT_EINVAL; /* a bad request, not a missing resource */
    } else {
        /* one catalog per request: a catalog serves one thread, requests run on many */
        weft_catalog *c = weft_catalog_create(a->tasks);
        st = weft_catalog_parse(c, s, m->config, &a->limits, def, err);
        weft_catalog_destroy(c);
        if (st == WEFT_EINVAL || st == WEFT_ENOTFOUND || st == WEFT_ETOOBIG) {
            weft_err_prefix(err, "invalid definition: ");
            st = WEFT_EINVAL;
        }
    }
    store_give(a, s);
    return st;
}

/* POST /v1/workflows: validate, give the message its uid, publish it. */
static void submit(weft_api *a, const weft_http_request *req, weft_http_response *res)
{
    weft_err err = {0};
    weft_entry_msg m;
    weft_status st =
        weft_msg_decode_entry(req->body, req->len, a->limits.max_message_bytes, &m, &err);
    if (st) {
        respond_status(res, st, &err);
        return;
    }
    weft_definition *def = NULL;
    if ((!m.config && !m.definition_name) || m.cancel) {
        weft_http_error(res, 400,
                        "the message needs a config (a definition) or a definition's name: "
                        "resume and cancel are POST /v1/workflows/UID/resume and /cancel");
    } else if ((st = check_definition(a, &m, &def, &err))) {
        respond_status(res, st == WEFT_ETOOBIG ? WEFT_EINVAL : st, &err);
    } else {
        char uid[WEFT_UUID_LEN + 1];
        if (m.has_uid)
            snprintf(uid, sizeof uid, "%s", m.workflow_uid);
        else
            weft_uuid_new(uid);
        /* the message as sent, plus its uid: fields this version ignores travel on */
        json_t *doc = json_loadb(req->body, req->len, 0, NULL);
        json_object_set_new(doc, "workflow_uid", json_string(uid));
        char *body = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        st = body ? publish_entry(a, body, strlen(body), &err) : WEFT_EINVAL;
        free(body);
        if (st) {
            respond_status(res, st, &err);
        } else {
            WEFT_LOG(WEFT_LOG_INFO, uid, NULL, "api: workflow '%s' submitted",
                     def ? def->name : m.definition_name);
            respond_json(res, 202, json_pack("{s:s}", "workflow_uid", uid));
        }
    }
    weft_definition_destroy(def);
    weft_entry_msg_finish(&m);
}

/* GET /v1/workflows?status=&name=&limit= */
static void list(weft_api *a, const weft_http_request *req, weft_http_response *res)
{
    weft_workflow_filter f = {weft_http_query(req, "status"), weft_http_query(req, "name"),
                              WEFT_API_DEFAULT_LIMIT};
    const char *limit = weft_http_query(req, "limit");
    weft_workflow_status ignored;
    long n;
    if (f.status && !*f.status)
        f.status = NULL;
    if (f.name && !*f.name)
        f.name = NULL;
    if (f.status && !weft_workflow_status_parse(f.status, &ignored)) {
        weft_http_error(res, 400, "status must be pending, running, completed, failed or canceled");
        return;
    }
    if (limit && *limit) {
        if (!weft_parse_int(limit, 1, WEFT_API_MAX_LIMIT, &n)) {
            weft_http_error(res, 400, "limit must be a whole number in 1..1000");
            return;
        }
        f.limit = (int)n;
    }
    weft_err err = {0};
    weft_store *s = store_take(a, &err);
    json_t *rows = NULL;
    weft_status st = s ? weft_store_list_workflows(s, &f, &rows, &err) : WEFT_EDB;
    if (s)
        store_give(a, s);
    if (st)
        respond_status(res, st, &err);
    else
        respond_json(res, 200, json_pack("{s:o}", "workflows", rows));
}

/* Each activity of the report gets its depends_on, from the edges (same order). */
static void add_edges(json_t *activities, json_t *edges)
{
    size_t i;
    json_t *act;
    json_array_foreach(activities, i, act)
    {
        json_t *e = json_array_get(edges, i);
        const char *name = json_string_value(json_object_get(act, "name"));
        if (e && name && json_equal(json_object_get(e, "name"), json_object_get(act, "name")))
            json_object_set(act, "depends_on", json_object_get(e, "depends_on"));
    }
}

/* GET /v1/workflows/UID */
static void show(weft_api *a, const char *uid, weft_http_response *res)
{
    weft_err err = {0};
    weft_store *s = store_take(a, &err);
    if (!s) {
        respond_status(res, WEFT_EDB, &err);
        return;
    }
    weft_workflow_info w = {0};
    json_t *acts = NULL, *edges = NULL;
    weft_status st = weft_store_workflow(s, uid, &w, &err);
    if (!st)
        st = weft_store_activities(s, uid, &acts, &err);
    if (!st)
        st = weft_store_workflow_edges(s, uid, &edges, &err);
    store_give(a, s);
    if (!st) {
        add_edges(acts, edges);
        json_t *progress = weft_progress_summary(acts);
        respond_json(res, 200, weft_workflow_report(&w, acts, progress));
        json_decref(progress);
    } else {
        respond_status(res, st, &err);
    }
    weft_workflow_info_finish(&w);
    json_decref(acts);
    json_decref(edges);
}

/* The cancel's reason from an optional body {"reason": "..."}; false (400 sent) when bad. */
static bool cancel_reason(const weft_http_request *req, json_t **doc, const char **reason,
                          weft_http_response *res)
{
    *doc = NULL;
    *reason = NULL;
    if (req->len == 0)
        return true;
    weft_err err = {0};
    *doc = weft_json_parse(req->body, req->len, "the request body", &err);
    if (!*doc || !json_is_object(*doc)) {
        weft_http_error(res, 400, *doc ? "the request body must be a JSON object" : err.msg);
        return false;
    }
    json_t *r = json_object_get(*doc, "reason");
    if (r && !json_is_string(r)) {
        weft_http_error(res, 400, "reason must be a string");
        return false;
    }
    *reason = json_string_value(r);
    if (*reason && strlen(*reason) > WEFT_CANCEL_REASON_MAX) {
        weft_http_error(res, 400, "reason is longer than 1000 bytes");
        return false;
    }
    return true;
}

/* POST /v1/workflows/UID/cancel and /resume: a known workflow gets its entry message. */
static void control(weft_api *a, const weft_http_request *req, const char *uid, bool cancel,
                    weft_http_response *res)
{
    json_t *doc = NULL;
    const char *reason = NULL;
    if (cancel && !cancel_reason(req, &doc, &reason, res)) {
        json_decref(doc);
        return;
    }
    weft_err err = {0};
    weft_store *s = store_take(a, &err);
    weft_workflow_info w;
    weft_status st = s ? weft_store_workflow(s, uid, &w, &err) : WEFT_EDB;
    if (s)
        store_give(a, s);
    if (!st) {
        size_t len;
        char *body = cancel ? weft_msg_encode_cancel(uid, reason, &len)
                            : weft_msg_encode_entry(NULL, NULL, uid, &len);
        st = publish_entry(a, body, len, &err);
        free(body);
        /* the consumer decides what the message changes; the answer tells what it met */
        if (!st) {
            WEFT_LOG(WEFT_LOG_INFO, uid, NULL, "api: %s requested (workflow %s)",
                     cancel ? "cancel" : "resume", weft_workflow_status_name(w.status));
            respond_json(res, 202,
                         json_pack("{s:s, s:s}", "workflow_uid", uid, "status",
                                   weft_workflow_status_name(w.status)));
        }
        weft_workflow_info_finish(&w);
    }
    if (st)
        respond_status(res, st, &err);
    json_decref(doc);
}

/* /v1/...: path is what follows "/v1". */
static void route_v1(weft_api *a, const weft_http_request *req, const char *path,
                     weft_http_response *res)
{
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    if (strcmp(path, "/workflows") == 0 || strcmp(path, "/workflows/") == 0) {
        if (post)
            submit(a, req, res);
        else if (get)
            list(a, req, res);
        else
            method_not_allowed(res, "GET, POST");
        return;
    }
    const char *rest = strncmp(path, "/workflows/", 11) == 0 ? path + 11 : NULL;
    char uid[WEFT_UUID_LEN + 1] = "";
    if (rest && strlen(rest) >= WEFT_UUID_LEN) {
        memcpy(uid, rest, WEFT_UUID_LEN);
        rest += WEFT_UUID_LEN;
    }
    if (!uid[0] || !weft_uuid_valid(uid) ||
        (*rest && strcmp(rest, "/cancel") != 0 && strcmp(rest, "/resume") != 0)) {
        weft_http_error(res, 404, "no such path: see GET /v1/workflows");
        return;
    }
    if (!*rest) {
        if (get)
            show(a, uid, res);
        else
            method_not_allowed(res, "GET");
    } else if (!post) {
        method_not_allowed(res, "POST");
    } else {
        control(a, req, uid, strcmp(rest, "/cancel") == 0, res);
    }
}

/* GET / and /dashboard/FILE: the embedded files (dashboard.h). */
static void serve_dashboard(const weft_http_request *req, const char *name, weft_http_response *res)
{
    const weft_dashboard_file *f = weft_dashboard_find(name);
    if (!f) {
        weft_http_error(res, 404, "no such file in the dashboard");
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        method_not_allowed(res, "GET, HEAD");
        return;
    }
    weft_http_respond(res, 200, f->content_type, f->data, f->len);
    /* the page talks to this origin only, and never runs what a workflow's data holds */
    weft_http_header(res, "Content-Security-Policy",
                     "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    weft_http_header(res, "X-Content-Type-Options", "nosniff");
}

static void handle(void *ctx, const weft_http_request *req, weft_http_response *res)
{
    weft_api *a = ctx;
    if (strcmp(req->path, "/") == 0) {
        serve_dashboard(req, "index.html", res);
    } else if (strncmp(req->path, "/dashboard/", 11) == 0) {
        serve_dashboard(req, req->path + 11, res);
    } else if (strcmp(req->path, "/v1") == 0 || strncmp(req->path, "/v1/", 4) == 0) {
        if (!authorized(a, req)) {
            weft_http_error(res, 401, "a valid bearer token is required (Authorization: Bearer)");
            weft_http_header(res, "WWW-Authenticate", "Bearer realm=\"weft\"");
        } else {
            route_v1(a, req, req->path + 3, res);
            weft_http_header(res, "Cache-Control", "no-store");
        }
    } else {
        weft_http_error(res, 404, "no such path: the API is under /v1, the dashboard at /");
    }
    WEFT_LOG(WEFT_LOG_DEBUG, NULL, NULL, "api: %s %s -> %d", req->method, req->path, res->status);
}

weft_status weft_api_start(const weft_config *cfg, const weft_task_registry *tasks, weft_api **out,
                           weft_err *err)
{
    *out = NULL;
    weft_api *a = weft_xcalloc(1, sizeof *a);
    weft_status st = read_token(a, cfg->token_file, err);
    if (st) {
        free(a);
        return st;
    }
    a->tasks = tasks;
    a->limits = cfg->limits;
    a->database_url = weft_xstrdup(cfg->database_url);
    a->amqp_url = weft_xstrdup(cfg->amqp_url);
    a->amqp_cacert = cfg->amqp_cacert ? weft_xstrdup(cfg->amqp_cacert) : NULL;
    pthread_mutex_init(&a->pool_mu, NULL);
    pthread_cond_init(&a->pool_cv, NULL);
    pthread_mutex_init(&a->pub_mu, NULL);
    st = weft_http_start("api", cfg->http_addr, cfg->limits.max_message_bytes, handle, a, &a->http,
                         err);
    if (st) {
        weft_api_stop(a);
        return st;
    }
    *out = a;
    return WEFT_OK;
}

void weft_api_stop(weft_api *a)
{
    if (!a)
        return;
    weft_http_stop(a->http);
    for (size_t i = 0; i < a->nidle; i++)
        weft_store_destroy(a->idle[i]);
    weft_broker_destroy(a->broker);
    pthread_mutex_destroy(&a->pool_mu);
    pthread_cond_destroy(&a->pool_cv);
    pthread_mutex_destroy(&a->pub_mu);
    free(a->database_url);
    free(a->amqp_url);
    free(a->amqp_cacert);
    OPENSSL_cleanse(a->token_digest, sizeof a->token_digest);
    free(a);
}

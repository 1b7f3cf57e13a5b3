#include "broker.h"

#include "alloc.h"
#include "broker_nodes.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "stop.h"
#include "telemetry.h"
#include "uuid.h"
#include "weft_limits.h"

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define CHANNEL 1
#define FRAME_MAX 131072
#define CONNECT_TIMEOUT_S 5
/* A blocked broker (connection.blocked: a memory or disk alarm) reads nothing from the
 * connection until the alarm clears, so a confirm wait then does not count toward its
 * timeout; it is bounded by this instead, and looks for a stop request this often. */
#define BLOCKED_WAIT_MAX_MS (10 * 60 * 1000)
#define BLOCKED_POLL_MS 200
/* How often a long confirm wait calls its hook (weft_broker_on_wait). */
#define WAIT_HOOK_MS 1000

/* Delay buckets in ms, ~1.5x apart: a retry waits at most ~50% longer than its policy asks,
 * and each bucket is its own queue so one TTL never blocks another (DESIGN §2). */
static const int delay_buckets[] = {
    50,    100,    200,    300,    500,    750,    1000,    1500,    2000,
    3000,  5000,   7500,   10000,  15000,  20000,  30000,   45000,   60000,
    90000, 120000, 180000, 300000, 600000, 900000, 1800000, 3600000,
};
#define N_BUCKETS (sizeof delay_buckets / sizeof delay_buckets[0])

typedef struct delivery_node {
    weft_delivery d;
    struct delivery_node *next;
} delivery_node;

struct weft_broker {
    amqp_connection_state_t conn;
    char *where; /* host:port for messages */
    bool healthy;
    weft_queue_type queue_type; /* what declare_topology declares */
    uint64_t next_seq;          /* publish sequence number of the next publish */
    uint64_t *unconfirmed;
    size_t nunconfirmed, capunconfirmed;
    bool confirm_failed;
    char confirm_error[200];
    delivery_node *head, *tail;
    size_t max_body;       /* 0: none */
    bool blocked;          /* connection.blocked came, connection.unblocked not yet */
    int64_t blocked_since; /* weft_clock_ms() when it came */
    char **queues;         /* owned: what weft_broker_consume consumes, for a resume */
    size_t nqueues;
    int prefetch;
    amqp_bytes_t *consumer_tags; /* owned copies, one per queue; NULL while paused or not
                                    consuming */
    char **declared;             /* owned: the weft.tasks.* and handoff shard queues this
                                    connection declared */
    size_t ndeclared;
    void (*wait_hook)(void *arg);
    void *wait_arg;
};

const int *weft_broker_delay_buckets(size_t *n)
{
    *n = N_BUCKETS;
    return delay_buckets;
}

int weft_broker_delay_bucket(int delay_ms)
{
    for (size_t i = 0; i < N_BUCKETS; i++)
        if (delay_buckets[i] >= delay_ms)
            return delay_buckets[i];
    return delay_buckets[N_BUCKETS - 1];
}

static weft_status fail(weft_broker *b, weft_err *err, const char *what, const char *detail)
{
    if (b)
        b->healthy = false;
    return weft_err_set(err, WEFT_EAMQP, "broker %s: %s: %s", b ? b->where : "?", what, detail);
}

static weft_status check_reply(weft_broker *b, amqp_rpc_reply_t r, const char *what, weft_err *err)
{
    char detail[256];
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return WEFT_OK;
    case AMQP_RESPONSE_NONE:
        return fail(b, err, what, "missing reply");
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return fail(b, err, what, amqp_error_string2(r.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *c = r.reply.decoded;
            snprintf(detail, sizeof detail, "connection closed by server: %u %.*s", c->reply_code,
                     (int)c->reply_text.len, (char *)c->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *c = r.reply.decoded;
            snprintf(detail, sizeof detail, "channel closed by server: %u %.*s", c->reply_code,
                     (int)c->reply_text.len, (char *)c->reply_text.bytes);
        } else {
            snprintf(detail, sizeof detail, "server exception 0x%08x", r.reply.id);
        }
        return fail(b, err, what, detail);
    }
    return fail(b, err, what, "unknown reply");
}

/* Table entries for queue arguments, headers and capabilities: a key and a typed value. */
static amqp_table_entry_t entry(const char *key, amqp_field_value_t value)
{
    return (amqp_table_entry_t){amqp_cstring_bytes(key), value};
}

static amqp_table_entry_t entry_str(const char *key, const char *value)
{
    return entry(key, (amqp_field_value_t){.kind = AMQP_FIELD_KIND_UTF8,
                                           .value.bytes = amqp_cstring_bytes(value)});
}

static amqp_table_entry_t entry_int(const char *key, int64_t value)
{
    return entry(key, (amqp_field_value_t){.kind = AMQP_FIELD_KIND_I64, .value.i64 = value});
}

static amqp_table_entry_t entry_bool(const char *key, bool value)
{
    return entry(key,
                 (amqp_field_value_t){.kind = AMQP_FIELD_KIND_BOOLEAN, .value.boolean = value});
}

/* The kinds of queue weft declares, each with its arguments (queue_args). */
typedef enum {
    Q_DEAD,    /* weft.dead: where poison messages rest */
    Q_ENTRY,   /* workflow_entry */
    Q_TASKS,   /* `default` and the weft.tasks.* queues: attempts, by priority */
    Q_HANDOFF, /* workflow_handoff: one active consumer */
    Q_RETRY,   /* weft.retry.<ms>: `default`'s retries wait their TTL, then go to `default` */
    Q_DELAY,   /* weft.delay.<ms>: a weft.tasks.* queue's retries, back by their routing key */
} queue_kind;

#define QUEUE_MAX_ARGS 7

/* The one place queue arguments are made: they must be identical in every process, or the
 * broker answers 406 PRECONDITION_FAILED. ttl_ms is the TTL of a Q_RETRY or Q_DELAY queue.
 * Returns how many of args[QUEUE_MAX_ARGS] it filled.
 *
 * Quorum queues (WEFT_QUEUE_TYPE=quorum) differ in three ways. They have no priorities (the
 * broker refuses x-max-priority for them in 3.10): a message's priority is then ignored and
 * attempts run in the order they were queued. They dead-letter at least once (the message
 * stays until its dead-letter queue confirmed it: a retry leaving its delay queue is never
 * dropped on the way, as a classic queue may), which RabbitMQ allows only with overflow
 * reject-publish; weft sets no length limit, so overflow never happens. And they have no
 * delivery limit unless a policy sets one, as classic queues. */
static int queue_args(const weft_broker *b, queue_kind kind, int ttl_ms,
                      amqp_table_entry_t args[QUEUE_MAX_ARGS])
{
    bool quorum = b->queue_type == WEFT_QUEUE_QUORUM;
    int n = 0;
    if (quorum)
        args[n++] = entry_str("x-queue-type", "quorum");
    if (kind == Q_DEAD)
        return n;
    args[n++] = entry_str("x-dead-letter-exchange", "");
    if (kind != Q_DELAY)
        args[n++] = entry_str("x-dead-letter-routing-key",
                              kind == Q_RETRY ? WEFT_QUEUE_DEFAULT : WEFT_QUEUE_DEAD);
    if (quorum) {
        args[n++] = entry_str("x-dead-letter-strategy", "at-least-once");
        args[n++] = entry_str("x-overflow", "reject-publish");
    }
    if (kind == Q_TASKS && !quorum)
        args[n++] = entry_int("x-max-priority", WEFT_MAX_PRIORITY);
    if (kind == Q_HANDOFF)
        args[n++] = entry_bool("x-single-active-consumer", true);
    if (kind == Q_RETRY || kind == Q_DELAY)
        args[n++] = entry_int("x-message-ttl", ttl_ms);
    return n;
}

/* A 406 on a declare: the queue exists with other arguments. The usual cause is a change of
 * WEFT_QUEUE_TYPE over existing queues, which no reconnect fixes: WEFT_EINVAL, saying what to
 * do. */
static weft_status declare_refused(weft_broker *b, const char *queue, const char *detail,
                                   weft_err *err)
{
    b->healthy = false;
    if (strstr(detail, "'x-queue-type'"))
        return weft_err_set(err, WEFT_EINVAL,
                            "broker %s: queue '%s' exists as another queue type than "
                            "WEFT_QUEUE_TYPE=%s declares, and a queue's type cannot change: "
                            "set WEFT_QUEUE_TYPE back, or stop every weft process, drain and "
                            "delete weft's queues (README \"RabbitMQ cluster\") and start "
                            "again (%s)",
                            b->where, queue,
                            b->queue_type == WEFT_QUEUE_QUORUM ? "quorum" : "classic", detail);
    return weft_err_set(err, WEFT_EINVAL,
                        "broker %s: queue '%s' exists with other arguments than this weft "
                        "declares (another weft version, or a queue made by hand): %s",
                        b->where, queue, detail);
}

static weft_status declare_kind(weft_broker *b, const char *queue, queue_kind kind, int ttl_ms,
                                weft_err *err)
{
    amqp_table_entry_t args[QUEUE_MAX_ARGS];
    amqp_table_t table = {queue_args(b, kind, ttl_ms, args), args};
    amqp_queue_declare(b->conn, CHANNEL, amqp_cstring_bytes(queue), 0, 1, 0, 0, table);
    amqp_rpc_reply_t r = amqp_get_rpc_reply(b->conn);
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *c = r.reply.decoded;
        if (c->reply_code == AMQP_PRECONDITION_FAILED) {
            char detail[256];
            snprintf(detail, sizeof detail, "%.*s", (int)c->reply_text.len,
                     (char *)c->reply_text.bytes);
            return declare_refused(b, queue, detail, err);
        }
    }
    weft_status st = check_reply(b, r, "declaring a queue", err);
    if (st)
        weft_err_prefix(err, "queue '%s': ", queue);
    return st;
}

/* The delay bucket of a weft.tasks.* queue's retries: a fanout exchange and a queue, both
 * "weft.delay.<ms>". A retry is published to the exchange with the routing key of the queue
 * it is for; the queue holds it for its TTL, then dead-letters it to the default exchange
 * with no dead-letter routing key of its own, so with that routing key (RabbitMQ "Dead
 * Letter Exchanges": a queue without x-dead-letter-routing-key dead-letters a message with
 * the routing keys it was published with), and the retry lands on its own queue. One set of
 * buckets serves every queue: a bucket's messages all wait the same TTL, so none blocks
 * another. */
static weft_status declare_delay_bucket(weft_broker *b, int ms, weft_err *err)
{
    char name[64];
    snprintf(name, sizeof name, WEFT_QUEUE_DELAY_PREFIX "%d", ms);
    amqp_exchange_declare(b->conn, CHANNEL, amqp_cstring_bytes(name), amqp_cstring_bytes("fanout"),
                          0, 1, 0, 0, amqp_empty_table);
    weft_status st = check_reply(b, amqp_get_rpc_reply(b->conn), "declaring an exchange", err);
    if (st)
        return weft_err_prefix(err, "exchange '%s': ", name);
    st = declare_kind(b, name, Q_DELAY, ms, err);
    if (st)
        return st;
    amqp_queue_bind(b->conn, CHANNEL, amqp_cstring_bytes(name), amqp_cstring_bytes(name),
                    amqp_empty_bytes, amqp_empty_table);
    st = check_reply(b, amqp_get_rpc_reply(b->conn), "binding a queue", err);
    return st ? weft_err_prefix(err, "queue '%s': ", name) : WEFT_OK;
}

/* Declares the topology (queue_args says with what). The weft.tasks.* queues are declared on
 * first use (ensure_queue), as `default`, and so are handoff shards 1.. as
 * `workflow_handoff`. */
static weft_status declare_topology(weft_broker *b, weft_err *err)
{
    weft_status st = declare_kind(b, WEFT_QUEUE_DEAD, Q_DEAD, 0, err);
    if (!st)
        st = declare_kind(b, WEFT_QUEUE_ENTRY, Q_ENTRY, 0, err);
    if (!st)
        st = declare_kind(b, WEFT_QUEUE_DEFAULT, Q_TASKS, 0, err);
    if (!st)
        st = declare_kind(b, WEFT_QUEUE_HANDOFF, Q_HANDOFF, 0, err);
    for (size_t i = 0; !st && i < N_BUCKETS; i++) {
        char name[64];
        snprintf(name, sizeof name, WEFT_QUEUE_RETRY_PREFIX "%d", delay_buckets[i]);
        st = declare_kind(b, name, Q_RETRY, delay_buckets[i], err);
        if (!st)
            st = declare_delay_bucket(b, delay_buckets[i], err);
    }
    return st;
}

/* Declares a weft.tasks.* queue, or a handoff shard other than shard 0, once per connection
 * before anything is published to it or consumed from it: a publish to a queue nobody
 * declared yet would come back unroutable, and a retry dead-lettered towards it would be
 * dropped. Other queues need nothing. */
static weft_status ensure_queue(weft_broker *b, const char *queue, weft_err *err)
{
    bool tasks = strncmp(queue, WEFT_QUEUE_TASKS_PREFIX, strlen(WEFT_QUEUE_TASKS_PREFIX)) == 0;
    bool shard = !tasks && strcmp(queue, WEFT_QUEUE_HANDOFF) != 0 && weft_queue_is_handoff(queue);
    if (!tasks && !shard)
        return WEFT_OK;
    for (size_t i = 0; i < b->ndeclared; i++)
        if (strcmp(b->declared[i], queue) == 0)
            return WEFT_OK;
    weft_status st = declare_kind(b, queue, tasks ? Q_TASKS : Q_HANDOFF, 0, err);
    if (st)
        return st;
    b->declared = weft_xrealloc(b->declared, (b->ndeclared + 1) * sizeof *b->declared);
    b->declared[b->ndeclared++] = weft_xstrdup(queue);
    return WEFT_OK;
}

/* The CA file that verifies an amqps:// broker: cacert, or else OpenSSL's default file
 * (SSL_CERT_FILE when set). rabbitmq-c 0.11 loads no CA of its own, so without one no
 * certificate would ever verify. */
static const char *tls_ca_file(const char *cacert)
{
    if (cacert)
        return cacert;
    const char *env = getenv(X509_get_default_cert_file_env());
    return env && *env ? env : X509_get_default_cert_file();
}

/* Peer and host name verification (on by default in rabbitmq-c, set here all the same so a
 * library change cannot turn them off) against ca. A CA file that does not load is
 * configuration: WEFT_EINVAL. */
static weft_status tls_setup(weft_broker *b, amqp_socket_t *sock, const char *ca,
                             const char *ca_from, weft_err *err)
{
    if (amqp_ssl_socket_set_cacert(sock, ca) != AMQP_STATUS_OK)
        return weft_err_set(err, WEFT_EINVAL, "broker %s: TLS: cannot load the CA file '%s' (%s)",
                            b->where, ca, ca_from);
    amqp_ssl_socket_set_verify_peer(sock, 1);
    amqp_ssl_socket_set_verify_hostname(sock, 1);
    return WEFT_OK;
}

/* A certificate that does not verify is configuration (the CA file, or the host of the URL)
 * that no reconnect fixes: WEFT_EINVAL. Any other failure may be a broker restarting. */
static weft_status open_failed(weft_broker *b, int rc, const char *host, const char *ca,
                               const char *ca_from, weft_err *err)
{
    if (rc == AMQP_STATUS_SSL_PEER_VERIFY_FAILED)
        return weft_err_set(err, WEFT_EINVAL,
                            "broker %s: TLS: the broker's certificate does not verify against "
                            "the CA file '%s' (%s): another CA signed it, or it expired",
                            b->where, ca, ca_from);
    if (rc == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED)
        return weft_err_set(err, WEFT_EINVAL,
                            "broker %s: TLS: the broker's certificate is not for host '%s' of "
                            "WEFT_AMQP_URL (only its DNS names count, not IP addresses)",
                            b->where, host);
    return fail(b, err, "connect", amqp_error_string2(rc));
}

/* One node: url parses (weft_broker_nodes_parse checked it). *reached: the node let this
 * connection in, so what failed after is the cluster's answer, the same on every node. */
static weft_status connect_node(const char *url, const char *cacert, int heartbeat_s,
                                weft_queue_type type, weft_broker **out, bool *reached,
                                weft_err *err)
{
    *out = NULL;
    *reached = false;
    char *buf = weft_xstrdup(url);
    struct amqp_connection_info info;
    amqp_default_connection_info(&info);
    amqp_parse_url(buf, &info);
    /* "amqp://host/" parses to an empty vhost, which RabbitMQ does not have; people who
     * write it mean the default vhost "/" */
    if (!info.vhost || !*info.vhost)
        info.vhost = "/";
    weft_broker *b = weft_xcalloc(1, sizeof *b);
    b->where = weft_xasprintf("%s:%d", info.host, info.port);
    b->conn = amqp_new_connection();
    b->next_seq = 1;
    b->queue_type = type;
    const char *ca = info.ssl ? tls_ca_file(cacert) : NULL;
    const char *ca_from = cacert ? "WEFT_AMQP_CACERT" : "OpenSSL's default: set WEFT_AMQP_CACERT";
    amqp_socket_t *sock = info.ssl ? amqp_ssl_socket_new(b->conn) : amqp_tcp_socket_new(b->conn);
    weft_status st = WEFT_OK;
    struct timeval tv = {CONNECT_TIMEOUT_S, 0};
    int rc;
    if (!sock)
        st = fail(b, err, "connect", "cannot create a socket");
    else if (info.ssl)
        st = tls_setup(b, sock, ca, ca_from, err);
    if (!st && (rc = amqp_socket_open_noblock(sock, info.host, info.port, &tv)) != AMQP_STATUS_OK)
        st = open_failed(b, rc, info.host, ca, ca_from, err);
    if (!st) {
        b->healthy = true;
        /* rabbitmq-c merges this into its own capabilities: without it the broker blocks
         * the connection at a resource alarm without saying so */
        amqp_table_entry_t caps[] = {entry_bool("connection.blocked", true)};
        amqp_table_entry_t props[1];
        props[0].key = amqp_cstring_bytes("capabilities");
        props[0].value.kind = AMQP_FIELD_KIND_TABLE;
        props[0].value.value.table = (amqp_table_t){1, caps};
        amqp_table_t client_properties = {1, props};
        st = check_reply(b,
                         amqp_login_with_properties(b->conn, info.vhost, 0, FRAME_MAX, heartbeat_s,
                                                    &client_properties, AMQP_SASL_METHOD_PLAIN,
                                                    info.user, info.password),
                         "login", err);
    }
    free(buf);
    if (!st) {
        *reached = true;
        amqp_channel_open(b->conn, CHANNEL);
        st = check_reply(b, amqp_get_rpc_reply(b->conn), "opening a channel", err);
    }
    if (!st) {
        amqp_confirm_select(b->conn, CHANNEL);
        st = check_reply(b, amqp_get_rpc_reply(b->conn), "enabling publisher confirms", err);
    }
    if (!st)
        st = declare_topology(b, err);
    if (st)
        weft_broker_destroy(b);
    *out = st ? NULL : b;
    return st;
}

/* Two failures in one message, within err's room: "first; second". */
static void join_errors(weft_err *into, const weft_err *next)
{
    if (!into->msg[0]) {
        *into = *next;
        return;
    }
    size_t len = strlen(into->msg), room = sizeof into->msg - len;
    if (room > 3)
        snprintf(into->msg + len, room, "; %.*s", (int)(room - 3), next->msg);
}

weft_status weft_broker_connect(const char *url, const char *cacert, int heartbeat_s,
                                weft_broker **out, weft_err *err)
{
    *out = NULL;
    weft_queue_type type;
    weft_status st = weft_config_queue_type(&type, err);
    if (st)
        return st;
    weft_broker_nodes nodes;
    st = weft_broker_nodes_parse(url, &nodes, err);
    if (st) {
        weft_broker_nodes_finish(&nodes);
        return st;
    }
    /* Every node in turn, from the one last reached. Refused configuration (WEFT_EINVAL) on
     * one node is reported as such only when every node refuses it (one node's certificate is
     * no reason to ignore the others), or at once when the node let us in and refused what
     * the whole cluster shares (the topology). */
    size_t first = weft_broker_nodes_first(&nodes);
    weft_err all = {0};
    bool all_config = true;
    for (size_t k = 0; k < nodes.n; k++) {
        size_t i = (first + k) % nodes.n;
        weft_err one = {0};
        bool reached;
        st = connect_node(nodes.urls[i], cacert, heartbeat_s, type, out, &reached, &one);
        if (!st) {
            weft_broker_nodes_reached(&nodes, i);
            if (k)
                WEFT_LOG(WEFT_LOG_INFO, NULL, NULL,
                         "broker: connected to node %zu of %zu (%s) after %s", i + 1, nodes.n,
                         (*out)->where, all.msg);
            break;
        }
        all_config = all_config && st == WEFT_EINVAL;
        join_errors(&all, &one);
        if (reached && st == WEFT_EINVAL)
            break;
    }
    if (st)
        st = weft_err_set(err, all_config ? WEFT_EINVAL : WEFT_EAMQP, "%s", all.msg);
    weft_broker_nodes_finish(&nodes);
    return st;
}

static void free_consumer_tags(weft_broker *b)
{
    for (size_t i = 0; b->consumer_tags && i < b->nqueues; i++)
        amqp_bytes_free(b->consumer_tags[i]);
    free(b->consumer_tags);
    b->consumer_tags = NULL;
}

void weft_broker_destroy(weft_broker *b)
{
    if (!b)
        return;
    /* a blocked broker would never answer the close: dropping the socket hands the unacked
     * deliveries back all the same, once it reads again */
    if (b->healthy && !b->blocked) {
        amqp_channel_close(b->conn, CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(b->conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(b->conn);
    while (b->head) {
        delivery_node *n = b->head;
        b->head = n->next;
        weft_delivery_finish(&n->d);
        free(n);
    }
    free(b->unconfirmed);
    free(b->where);
    free_consumer_tags(b);
    for (size_t i = 0; i < b->nqueues; i++)
        free(b->queues[i]);
    free(b->queues);
    for (size_t i = 0; i < b->ndeclared; i++)
        free(b->declared[i]);
    free(b->declared);
    free(b);
}

/* One consumer per queue, all on the one channel: their tags in queue order. */
static weft_status start_consumers(weft_broker *b, weft_err *err)
{
    b->consumer_tags = weft_xcalloc(b->nqueues, sizeof *b->consumer_tags);
    for (size_t i = 0; i < b->nqueues; i++) {
        amqp_basic_consume_ok_t *ok =
            amqp_basic_consume(b->conn, CHANNEL, amqp_cstring_bytes(b->queues[i]), amqp_empty_bytes,
                               0, 0, 0, amqp_empty_table);
        weft_status st = check_reply(b, amqp_get_rpc_reply(b->conn), "starting a consumer", err);
        if (st)
            return weft_err_prefix(err, "queue '%s': ", b->queues[i]);
        b->consumer_tags[i] = amqp_bytes_malloc_dup(ok->consumer_tag);
    }
    return WEFT_OK;
}

weft_status weft_broker_consume(weft_broker *b, const char *const *queues, size_t nqueues,
                                int prefetch, weft_err *err)
{
    /* RabbitMQ applies a prefetch to each consumer of a channel unless it is global, which it
     * reads as shared by the channel's consumers ("Consumer Prefetch"): one limit for all the
     * queues, as one consumer of one queue had. A single queue keeps the per-consumer form,
     * which every queue type takes. Quorum queues refuse a consumer on a channel with a
     * global prefetch: there each queue gets the limit, and a worker of several queues may
     * hold one message of each while it runs one (README "RabbitMQ cluster"). */
    bool global = nqueues > 1 && b->queue_type != WEFT_QUEUE_QUORUM;
    amqp_basic_qos(b->conn, CHANNEL, 0, (uint16_t)prefetch, global);
    weft_status st = check_reply(b, amqp_get_rpc_reply(b->conn), "setting prefetch", err);
    for (size_t i = 0; !st && i < nqueues; i++)
        st = ensure_queue(b, queues[i], err);
    if (st)
        return st;
    free_consumer_tags(b);
    for (size_t i = 0; i < b->nqueues; i++)
        free(b->queues[i]);
    free(b->queues);
    b->queues = weft_xcalloc(nqueues, sizeof *b->queues);
    for (size_t i = 0; i < nqueues; i++)
        b->queues[i] = weft_xstrdup(queues[i]);
    b->nqueues = nqueues;
    b->prefetch = prefetch;
    return start_consumers(b, err);
}

weft_status weft_broker_pause(weft_broker *b, weft_err *err)
{
    if (!b->consumer_tags)
        return WEFT_OK;
    for (size_t i = 0; i < b->nqueues; i++) {
        if (!b->consumer_tags[i].len)
            continue;
        amqp_basic_cancel(b->conn, CHANNEL, b->consumer_tags[i]);
        weft_status st = check_reply(b, amqp_get_rpc_reply(b->conn), "pausing the consumer", err);
        if (st)
            return st;
    }
    free_consumer_tags(b);
    /* what came before the cancel took effect goes back to the queue at once, rather than
     * waiting here, unacknowledged, for as long as the current message takes */
    while (b->head) {
        delivery_node *n = b->head;
        b->head = n->next;
        weft_status st = weft_broker_reject(b, n->d.tag, true, err);
        weft_delivery_finish(&n->d);
        free(n);
        if (st)
            return st;
    }
    b->tail = NULL;
    return WEFT_OK;
}

weft_status weft_broker_resume(weft_broker *b, weft_err *err)
{
    if (b->consumer_tags || !b->nqueues)
        return WEFT_OK;
    return start_consumers(b, err);
}

void weft_broker_on_wait(weft_broker *b, void (*hook)(void *arg), void *arg)
{
    b->wait_hook = hook;
    b->wait_arg = arg;
}

/* The publish just made awaits its confirm. */
static void track_unconfirmed(weft_broker *b)
{
    if (b->nunconfirmed == b->capunconfirmed) {
        b->capunconfirmed = b->capunconfirmed ? b->capunconfirmed * 2 : 64;
        b->unconfirmed = weft_xrealloc(b->unconfirmed, b->capunconfirmed * sizeof(uint64_t));
    }
    b->unconfirmed[b->nunconfirmed++] = b->next_seq++;
}

/* Publishes to exchange (NULL: the default exchange) under routing key `key`: on the default
 * exchange, the queue of that name, declared first when it is a weft.tasks.* one or a handoff
 * shard. */
static weft_status publish_to(weft_broker *b, const char *exchange, const char *key,
                              const char *body, size_t len, int priority, amqp_table_t *headers,
                              const char *message_id, weft_err *err)
{
    if (!b->healthy)
        return fail(b, err, "publish", "connection is down");
    weft_status st = exchange ? WEFT_OK : ensure_queue(b, key, err);
    if (st)
        return st;
    char id[WEFT_UUID_LEN + 1];
    weft_uuid_new(id);
    if (!message_id)
        message_id = id;
    amqp_basic_properties_t props;
    memset(&props, 0, sizeof props);
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                   AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_PRIORITY_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    props.message_id = amqp_cstring_bytes(message_id);
    props.priority = (uint8_t)(priority < 0                   ? 0
                               : priority > WEFT_MAX_PRIORITY ? WEFT_MAX_PRIORITY
                                                              : priority);
    if (headers) {
        props._flags |= AMQP_BASIC_HEADERS_FLAG;
        props.headers = *headers;
    }
    amqp_bytes_t bytes = {len, (void *)body};
    /* mandatory: a message no queue takes comes back as basic.return instead of vanishing */
    int rc = amqp_basic_publish(b->conn, CHANNEL,
                                exchange ? amqp_cstring_bytes(exchange) : amqp_empty_bytes,
                                amqp_cstring_bytes(key), 1, 0, &props, bytes);
    if (rc != AMQP_STATUS_OK)
        return fail(b, err, "publish", amqp_error_string2(rc));
    track_unconfirmed(b);
    return WEFT_OK;
}

static weft_status publish(weft_broker *b, const char *queue, const char *body, size_t len,
                           int priority, amqp_table_t *headers, const char *message_id,
                           weft_err *err)
{
    return publish_to(b, NULL, queue, body, len, priority, headers, message_id, err);
}

weft_status weft_broker_publish(weft_broker *b, const char *queue, const char *body, size_t len,
                                int priority, weft_err *err)
{
    return publish(b, queue, body, len, priority, NULL, NULL, err);
}

weft_status weft_broker_publish_id(weft_broker *b, const char *queue, const char *body, size_t len,
                                   int priority, const char *message_id, weft_err *err)
{
    return publish(b, queue, body, len, priority, NULL, message_id, err);
}

weft_status weft_broker_publish_delayed(weft_broker *b, const char *queue, const char *body,
                                        size_t len, int priority, int delay_ms, int *bucket_ms,
                                        weft_err *err)
{
    int bucket = weft_broker_delay_bucket(delay_ms);
    if (bucket_ms)
        *bucket_ms = bucket;
    char name[64];
    if (strcmp(queue, WEFT_QUEUE_DEFAULT) == 0) {
        snprintf(name, sizeof name, WEFT_QUEUE_RETRY_PREFIX "%d", bucket);
        return publish(b, name, body, len, priority, NULL, NULL, err);
    }
    /* the retry is dead-lettered to its queue when it expires: that queue must exist then */
    weft_status st = ensure_queue(b, queue, err);
    if (st)
        return st;
    snprintf(name, sizeof name, WEFT_QUEUE_DELAY_PREFIX "%d", bucket);
    return publish_to(b, name, queue, body, len, priority, NULL, NULL, err);
}

/* Confirms: acks may cover several sequence numbers (multiple) and, across queues, may
 * come out of order, so the unconfirmed set is kept explicitly. */
static void confirm(weft_broker *b, uint64_t tag, bool multiple)
{
    size_t w = 0;
    for (size_t r = 0; r < b->nunconfirmed; r++) {
        uint64_t s = b->unconfirmed[r];
        if (multiple ? s <= tag : s == tag)
            continue;
        b->unconfirmed[w++] = s;
    }
    b->nunconfirmed = w;
}

static bool header_is(const amqp_table_entry_t *e, const char *key)
{
    size_t n = strlen(key);
    return e->key.len == n && memcmp(e->key.bytes, key, n) == 0;
}

struct weft_broker_props {
    amqp_pool_t pool; /* holds every byte p points to */
    amqp_basic_properties_t p;
};

static amqp_bytes_t pool_dup(amqp_pool_t *pool, amqp_bytes_t src)
{
    amqp_bytes_t out = {0, NULL};
    if (src.len == 0)
        return out;
    amqp_pool_alloc_bytes(pool, src.len, &out);
    if (!out.bytes)
        abort(); /* alloc.h: exhaustion aborts */
    memcpy(out.bytes, src.bytes, src.len);
    return out;
}

/* A copy of p that outlives the frame it was decoded from. */
static weft_broker_props *props_copy(const amqp_basic_properties_t *p)
{
    weft_broker_props *c = weft_xcalloc(1, sizeof *c);
    init_amqp_pool(&c->pool, 4096);
    if (!p)
        return c;
    c->p = *p;
    /* a field whose flag is clear holds whatever the decoder left there */
    struct {
        amqp_flags_t flag;
        amqp_bytes_t *field;
    } fields[] = {{AMQP_BASIC_CONTENT_TYPE_FLAG, &c->p.content_type},
                  {AMQP_BASIC_CONTENT_ENCODING_FLAG, &c->p.content_encoding},
                  {AMQP_BASIC_CORRELATION_ID_FLAG, &c->p.correlation_id},
                  {AMQP_BASIC_REPLY_TO_FLAG, &c->p.reply_to},
                  {AMQP_BASIC_EXPIRATION_FLAG, &c->p.expiration},
                  {AMQP_BASIC_MESSAGE_ID_FLAG, &c->p.message_id},
                  {AMQP_BASIC_TYPE_FLAG, &c->p.type},
                  {AMQP_BASIC_USER_ID_FLAG, &c->p.user_id},
                  {AMQP_BASIC_APP_ID_FLAG, &c->p.app_id},
                  {AMQP_BASIC_CLUSTER_ID_FLAG, &c->p.cluster_id}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        *fields[i].field = p->_flags & fields[i].flag ? pool_dup(&c->pool, *fields[i].field)
                                                      : (amqp_bytes_t){0, NULL};
    if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
        c->p.headers = amqp_empty_table;
    else if (amqp_table_clone(&p->headers, &c->p.headers, &c->pool) != AMQP_STATUS_OK)
        abort();
    return c;
}

/* Reads the content header and body frames that follow a basic.deliver/return/get-ok; a
 * copy of the properties into *props when props is not NULL. */
static weft_status read_content(weft_broker *b, weft_delivery *d, weft_broker_props **props,
                                weft_err *err)
{
    amqp_frame_t f;
    int rc = amqp_simple_wait_frame(b->conn, &f);
    if (rc != AMQP_STATUS_OK)
        return fail(b, err, "reading a message", amqp_error_string2(rc));
    if (f.frame_type != AMQP_FRAME_HEADER)
        return fail(b, err, "reading a message", "expected a content header");
    size_t size = (size_t)f.payload.properties.body_size;
    amqp_basic_properties_t *p = f.payload.properties.decoded;
    if (props)
        *props = props_copy(p);
    if (p && (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) && p->message_id.len > 0)
        d->message_id = weft_xstrndup(p->message_id.bytes, p->message_id.len);
    if (p && (p->_flags & AMQP_BASIC_HEADERS_FLAG)) {
        for (int i = 0; i < p->headers.num_entries; i++) {
            amqp_table_entry_t *e = &p->headers.entries[i];
            if (e->value.kind != AMQP_FIELD_KIND_UTF8 && e->value.kind != AMQP_FIELD_KIND_BYTES)
                continue;
            char **into = header_is(e, "x-weft-reason") ? &d->reason
                          : header_is(e, "task")        ? &d->celery_task
                          : header_is(e, "id")          ? &d->celery_id
                                                        : NULL;
            if (into && !*into)
                *into = weft_xstrndup(e->value.value.bytes.bytes, e->value.value.bytes.len);
        }
    }
    /* over the limit: keep the start, and let each dropped frame's pages go at once, so the
     * cost in memory is the kept start and one frame, not the declared size */
    bool over = b->max_body && size > b->max_body;
    size_t keep =
        over ? (size < WEFT_BROKER_OVERSIZE_KEEP ? size : WEFT_BROKER_OVERSIZE_KEEP) : size;
    d->oversize = over ? size : 0;
    d->body = weft_xmalloc(keep + 1);
    d->len = keep;
    size_t got = 0;
    while (got < size) {
        rc = amqp_simple_wait_frame(b->conn, &f);
        if (rc != AMQP_STATUS_OK)
            return fail(b, err, "reading a message body", amqp_error_string2(rc));
        if (f.frame_type != AMQP_FRAME_BODY || got + f.payload.body_fragment.len > size)
            return fail(b, err, "reading a message body", "unexpected frame");
        size_t n = f.payload.body_fragment.len;
        if (got < keep)
            memcpy(d->body + got, f.payload.body_fragment.bytes, keep - got < n ? keep - got : n);
        got += n;
        if (over)
            amqp_maybe_release_buffers_on_channel(b->conn, CHANNEL);
    }
    d->body[keep] = '\0';
    return WEFT_OK;
}

/* The server closed the channel or the connection: answers with close-ok (ok_method with
 * ok on channel) and fails with its reply code and text. */
static weft_status closed_by_server(weft_broker *b, amqp_channel_t channel,
                                    amqp_method_number_t ok_method, void *ok, const char *what,
                                    uint16_t code, amqp_bytes_t text, weft_err *err)
{
    char detail[256];
    snprintf(detail, sizeof detail, "%s closed by server: %u %.*s", what, code, (int)text.len,
             (char *)text.bytes);
    amqp_send_method(b->conn, channel, ok_method, ok);
    return fail(b, err, what, detail);
}

/* The queue the consumer tagged tag consumes (a new string), or NULL. */
static char *queue_of(const weft_broker *b, amqp_bytes_t tag)
{
    for (size_t i = 0; b->consumer_tags && i < b->nqueues; i++)
        if (b->consumer_tags[i].len == tag.len &&
            memcmp(b->consumer_tags[i].bytes, tag.bytes, tag.len) == 0)
            return weft_xstrdup(b->queues[i]);
    return NULL;
}

/* Reads and handles one frame, waiting up to timeout_ms. WEFT_ETIMEOUT when none came. */
static weft_status pump_one(weft_broker *b, int timeout_ms, weft_err *err)
{
    if (!b->healthy)
        return fail(b, err, "waiting", "connection is down");
    amqp_frame_t f;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int rc = amqp_simple_wait_frame_noblock(b->conn, &f, &tv);
    if (rc == AMQP_STATUS_TIMEOUT)
        return WEFT_ETIMEOUT;
    if (rc != AMQP_STATUS_OK)
        return fail(b, err, "waiting", amqp_error_string2(rc));
    if (f.frame_type != AMQP_FRAME_METHOD)
        return WEFT_OK; /* heartbeats are handled inside the library */
    weft_status st = WEFT_OK;
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        amqp_basic_ack_t *a = f.payload.method.decoded;
        confirm(b, a->delivery_tag, a->multiple);
        break;
    }
    case AMQP_BASIC_NACK_METHOD: {
        amqp_basic_nack_t *n = f.payload.method.decoded;
        confirm(b, n->delivery_tag, n->multiple);
        b->confirm_failed = true;
        snprintf(b->confirm_error, sizeof b->confirm_error, "the broker refused a message (nack)");
        break;
    }
    case AMQP_BASIC_RETURN_METHOD: {
        amqp_basic_return_t *r = f.payload.method.decoded;
        b->confirm_failed = true;
        snprintf(b->confirm_error, sizeof b->confirm_error, "message to '%.*s' was unroutable",
                 (int)r->routing_key.len, (char *)r->routing_key.bytes);
        weft_delivery tmp = {0};
        st = read_content(b, &tmp, NULL, err);
        weft_delivery_finish(&tmp);
        break;
    }
    case AMQP_BASIC_DELIVER_METHOD: {
        amqp_basic_deliver_t *dm = f.payload.method.decoded;
        delivery_node *n = weft_xcalloc(1, sizeof *n);
        n->d.tag = dm->delivery_tag;
        n->d.redelivered = dm->redelivered;
        n->d.queue = queue_of(b, dm->consumer_tag);
        st = read_content(b, &n->d, NULL, err);
        if (st) {
            weft_delivery_finish(&n->d);
            free(n);
            break;
        }
        if (b->tail)
            b->tail->next = n;
        else
            b->head = n;
        b->tail = n;
        break;
    }
    case AMQP_BASIC_CANCEL_METHOD:
        /* the broker cancelled us (queue deleted, or failover of a single active consumer) */
        st = fail(b, err, "consuming", "the broker cancelled the consumer");
        break;
    case AMQP_CHANNEL_CLOSE_METHOD: {
        amqp_channel_close_t *c = f.payload.method.decoded;
        amqp_channel_close_ok_t ok = {0};
        st = closed_by_server(b, CHANNEL, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok, "channel",
                              c->reply_code, c->reply_text, err);
        break;
    }
    case AMQP_CONNECTION_BLOCKED_METHOD: {
        amqp_connection_blocked_t *bl = f.payload.method.decoded;
        if (!b->blocked) {
            WEFT_LOG(WEFT_LOG_WARN, NULL, NULL,
                     "broker %s blocked publishing: %.*s; waiting for the alarm to clear", b->where,
                     (int)bl->reason.len, (char *)bl->reason.bytes);
            b->blocked = true;
            b->blocked_since = weft_clock_ms();
        }
        break;
    }
    case AMQP_CONNECTION_UNBLOCKED_METHOD:
        if (b->blocked)
            WEFT_LOG(WEFT_LOG_INFO, NULL, NULL, "broker %s unblocked after %.1f s", b->where,
                     (double)(weft_clock_ms() - b->blocked_since) / 1000.0);
        b->blocked = false;
        break;
    case AMQP_CONNECTION_CLOSE_METHOD: {
        amqp_connection_close_t *c = f.payload.method.decoded;
        amqp_connection_close_ok_t ok = {0};
        st = closed_by_server(b, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok, "connection",
                              c->reply_code, c->reply_text, err);
        break;
    }
    default:
        break;
    }
    amqp_maybe_release_buffers(b->conn);
    return st;
}

weft_status weft_broker_pump(weft_broker *b, int timeout_ms, weft_err *err)
{
    int64_t deadline = weft_clock_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - weft_clock_ms();
        weft_status st = pump_one(b, left > 0 ? (int)left : 0, err);
        if (st == WEFT_ETIMEOUT)
            return WEFT_OK;
        if (st)
            return st;
        if (left <= 0)
            return WEFT_OK;
    }
}

bool weft_broker_blocked(const weft_broker *b)
{
    return b->blocked;
}

weft_status weft_broker_wait_confirms(weft_broker *b, int timeout_ms, weft_err *err)
{
    int64_t start = weft_clock_ms(), deadline = start + timeout_ms;
    int64_t next_hook = start + WAIT_HOOK_MS;
    while (b->nunconfirmed > 0) {
        int64_t now = weft_clock_ms();
        if (b->wait_hook && now >= next_hook) {
            b->wait_hook(b->wait_arg);
            next_hook = now + WAIT_HOOK_MS;
        }
        int slice;
        if (b->blocked) {
            int64_t since = b->blocked_since > start ? b->blocked_since : start;
            if (weft_stop_requested)
                return weft_err_set(err, WEFT_ESHUTDOWN,
                                    "broker %s: stopping while blocked by a resource alarm, %zu "
                                    "publishes unconfirmed",
                                    b->where, b->nunconfirmed);
            if (now - since >= BLOCKED_WAIT_MAX_MS)
                return weft_err_set(err, WEFT_ETIMEOUT,
                                    "broker %s: still blocked by a resource alarm after %d s, %zu "
                                    "publishes unconfirmed",
                                    b->where, BLOCKED_WAIT_MAX_MS / 1000, b->nunconfirmed);
            /* the whole timeout is left once it clears */
            if (deadline < now + timeout_ms)
                deadline = now + timeout_ms;
            slice = BLOCKED_POLL_MS;
        } else {
            if (now >= deadline)
                return weft_err_set(err, WEFT_ETIMEOUT, "broker %s: no confirm after %d ms",
                                    b->where, timeout_ms);
            slice = (int)(deadline - now);
        }
        if (b->wait_hook && slice > WAIT_HOOK_MS)
            slice = WAIT_HOOK_MS;
        weft_status st = pump_one(b, slice, err);
        if (st && st != WEFT_ETIMEOUT)
            return st;
    }
    if (b->confirm_failed) {
        b->confirm_failed = false;
        return weft_err_set(err, WEFT_EAMQP, "broker %s: %s", b->where, b->confirm_error);
    }
    return WEFT_OK;
}

void weft_delivery_finish(weft_delivery *d)
{
    if (!d)
        return;
    free(d->body);
    free(d->reason);
    free(d->message_id);
    free(d->celery_task);
    free(d->celery_id);
    free(d->queue);
    memset(d, 0, sizeof *d);
}

weft_status weft_broker_next(weft_broker *b, int timeout_ms, weft_delivery *out, weft_err *err)
{
    int64_t deadline = weft_clock_ms() + timeout_ms;
    while (!b->head) {
        int64_t left = deadline - weft_clock_ms();
        weft_status st = pump_one(b, left > 0 ? (int)left : 0, err);
        if (st == WEFT_ETIMEOUT || (st == WEFT_OK && left <= 0 && !b->head))
            return WEFT_ETIMEOUT;
        if (st)
            return st;
    }
    delivery_node *n = b->head;
    b->head = n->next;
    if (!b->head)
        b->tail = NULL;
    *out = n->d;
    free(n);
    return WEFT_OK;
}

void weft_broker_limit_body(weft_broker *b, size_t max_bytes)
{
    b->max_body = max_bytes;
}

weft_status weft_broker_ack(weft_broker *b, uint64_t tag, weft_err *err)
{
    int rc = amqp_basic_ack(b->conn, CHANNEL, tag, 0);
    return rc == AMQP_STATUS_OK ? WEFT_OK : fail(b, err, "ack", amqp_error_string2(rc));
}

weft_status weft_broker_ack_through(weft_broker *b, uint64_t tag, weft_err *err)
{
    int rc = amqp_basic_ack(b->conn, CHANNEL, tag, 1);
    return rc == AMQP_STATUS_OK ? WEFT_OK : fail(b, err, "ack", amqp_error_string2(rc));
}

weft_status weft_broker_reject(weft_broker *b, uint64_t tag, bool requeue, weft_err *err)
{
    int rc = amqp_basic_reject(b->conn, CHANNEL, tag, requeue);
    return rc == AMQP_STATUS_OK ? WEFT_OK : fail(b, err, "reject", amqp_error_string2(rc));
}

weft_status weft_broker_dead_letter(weft_broker *b, const weft_delivery *d, const char *from_queue,
                                    const char *reason, weft_err *err)
{
    char line[512];
    /* one line: a reason a person can read in a management UI or a header dump */
    snprintf(line, sizeof line, "%s", reason);
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    /* a Celery message keeps the headers that make it one, so a requeue finds it whole */
    amqp_table_entry_t h[5] = {entry_str("x-weft-reason", line),
                               entry_str("x-weft-queue", from_queue)};
    int n = 2;
    if (d->oversize)
        h[n++] = entry_int("x-weft-original-bytes", (int64_t)d->oversize);
    if (d->celery_task)
        h[n++] = entry_str("task", d->celery_task);
    if (d->celery_id)
        h[n++] = entry_str("id", d->celery_id);
    amqp_table_t headers = {n, h};
    weft_status st = publish(b, WEFT_QUEUE_DEAD, d->body, d->len, 0, &headers, d->message_id, err);
    if (!st)
        st = weft_broker_wait_confirms(b, 30000, err);
    if (!st)
        weft_telemetry_dead_lettered(from_queue);
    if (!st)
        st = weft_broker_ack(b, d->tag, err);
    return st;
}

weft_status weft_broker_queue_info(weft_broker *b, const char *queue, uint32_t *messages,
                                   uint32_t *consumers, weft_err *err)
{
    /* a handoff shard no one has used yet is empty, and a passive declare of a queue that
     * does not exist would close the channel */
    weft_status est = weft_queue_is_handoff(queue) ? ensure_queue(b, queue, err) : WEFT_OK;
    if (est)
        return est;
    amqp_queue_declare_ok_t *ok = amqp_queue_declare(b->conn, CHANNEL, amqp_cstring_bytes(queue), 1,
                                                     0, 0, 0, amqp_empty_table);
    weft_status st = check_reply(b, amqp_get_rpc_reply(b->conn), "inspecting a queue", err);
    if (st)
        return st;
    if (messages)
        *messages = ok->message_count;
    if (consumers)
        *consumers = ok->consumer_count;
    return WEFT_OK;
}

/* basic.get, acked by the broker at once (no_ack) or held; props as read_content takes it. */
static weft_status basic_get(weft_broker *b, const char *queue, bool no_ack, weft_delivery *out,
                             weft_broker_props **props, weft_err *err)
{
    memset(out, 0, sizeof *out);
    if (props)
        *props = NULL;
    amqp_rpc_reply_t r = amqp_basic_get(b->conn, CHANNEL, amqp_cstring_bytes(queue), no_ack);
    weft_status st = check_reply(b, r, "basic.get", err);
    if (st)
        return st;
    if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD)
        return WEFT_ENOTFOUND;
    amqp_basic_get_ok_t *ok = r.reply.decoded;
    out->tag = ok->delivery_tag;
    out->redelivered = ok->redelivered;
    st = read_content(b, out, props, err);
    amqp_maybe_release_buffers(b->conn);
    if (st) {
        weft_delivery_finish(out);
        if (props) {
            weft_broker_props_destroy(*props);
            *props = NULL;
        }
    }
    return st;
}

weft_status weft_broker_get(weft_broker *b, const char *queue, weft_delivery *out, weft_err *err)
{
    return basic_get(b, queue, true, out, NULL, err);
}

weft_status weft_broker_get_held(weft_broker *b, const char *queue, weft_delivery *out,
                                 weft_broker_props **props, weft_err *err)
{
    return basic_get(b, queue, false, out, props, err);
}

void weft_broker_props_destroy(weft_broker_props *props)
{
    if (!props)
        return;
    empty_amqp_pool(&props->pool);
    free(props);
}

static json_t *field_json(const amqp_field_value_t *v);

static json_t *table_json(const amqp_table_t *t)
{
    json_t *o = json_object();
    for (int i = 0; i < t->num_entries; i++) {
        char *key = weft_xstrndup(t->entries[i].key.bytes, t->entries[i].key.len);
        json_object_set_new(o, key, field_json(&t->entries[i].value));
        free(key);
    }
    return o;
}

static json_t *field_json(const amqp_field_value_t *v)
{
    json_t *j = NULL;
    switch (v->kind) {
    case AMQP_FIELD_KIND_BOOLEAN:
        return json_boolean(v->value.boolean);
    case AMQP_FIELD_KIND_I8:
        return json_integer(v->value.i8);
    case AMQP_FIELD_KIND_U8:
        return json_integer(v->value.u8);
    case AMQP_FIELD_KIND_I16:
        return json_integer(v->value.i16);
    case AMQP_FIELD_KIND_U16:
        return json_integer(v->value.u16);
    case AMQP_FIELD_KIND_I32:
        return json_integer(v->value.i32);
    case AMQP_FIELD_KIND_U32:
        return json_integer(v->value.u32);
    case AMQP_FIELD_KIND_I64:
        return json_integer(v->value.i64);
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP:
        return json_integer((json_int_t)v->value.u64);
    case AMQP_FIELD_KIND_F32:
        return json_real(v->value.f32);
    case AMQP_FIELD_KIND_F64:
        return json_real(v->value.f64);
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES:
        j = json_stringn(v->value.bytes.bytes, v->value.bytes.len);
        return j ? j : json_null();
    case AMQP_FIELD_KIND_TABLE:
        return table_json(&v->value.table);
    case AMQP_FIELD_KIND_ARRAY:
        j = json_array();
        for (int i = 0; i < v->value.array.num_entries; i++)
            json_array_append_new(j, field_json(&v->value.array.entries[i]));
        return j;
    default:
        return json_null();
    }
}

json_t *weft_broker_props_json(const weft_broker_props *props)
{
    json_t *o = json_object();
    const amqp_basic_properties_t *p = &props->p;
    static const struct {
        const char *name;
        amqp_flags_t flag;
        size_t offset;
    } texts[] = {
        {"content_type", AMQP_BASIC_CONTENT_TYPE_FLAG,
         offsetof(amqp_basic_properties_t, content_type)},
        {"content_encoding", AMQP_BASIC_CONTENT_ENCODING_FLAG,
         offsetof(amqp_basic_properties_t, content_encoding)},
        {"correlation_id", AMQP_BASIC_CORRELATION_ID_FLAG,
         offsetof(amqp_basic_properties_t, correlation_id)},
        {"reply_to", AMQP_BASIC_REPLY_TO_FLAG, offsetof(amqp_basic_properties_t, reply_to)},
        {"expiration", AMQP_BASIC_EXPIRATION_FLAG, offsetof(amqp_basic_properties_t, expiration)},
        {"message_id", AMQP_BASIC_MESSAGE_ID_FLAG, offsetof(amqp_basic_properties_t, message_id)},
        {"type", AMQP_BASIC_TYPE_FLAG, offsetof(amqp_basic_properties_t, type)},
        {"user_id", AMQP_BASIC_USER_ID_FLAG, offsetof(amqp_basic_properties_t, user_id)},
        {"app_id", AMQP_BASIC_APP_ID_FLAG, offsetof(amqp_basic_properties_t, app_id)},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (!(p->_flags & texts[i].flag))
            continue;
        const amqp_bytes_t *v = (const amqp_bytes_t *)((const char *)p + texts[i].offset);
        json_t *s = json_stringn(v->bytes ? v->bytes : "", v->len);
        json_object_set_new(o, texts[i].name, s ? s : json_null());
    }
    if (p->_flags & AMQP_BASIC_DELIVERY_MODE_FLAG)
        json_object_set_new(o, "delivery_mode", json_integer(p->delivery_mode));
    if (p->_flags & AMQP_BASIC_PRIORITY_FLAG)
        json_object_set_new(o, "priority", json_integer(p->priority));
    if (p->_flags & AMQP_BASIC_TIMESTAMP_FLAG)
        json_object_set_new(o, "timestamp", json_integer((json_int_t)p->timestamp));
    if (p->_flags & AMQP_BASIC_HEADERS_FLAG)
        json_object_set_new(o, "headers", table_json(&p->headers));
    return o;
}

/* Headers that describe a dead-lettering, not the message: x-weft-* (weft_broker_dead_letter)
 * and x-death (the broker's). */
static bool dead_letter_header(amqp_bytes_t key)
{
    return (key.len >= 7 && memcmp(key.bytes, "x-weft-", 7) == 0) ||
           (key.len == 7 && memcmp(key.bytes, "x-death", 7) == 0);
}

weft_status weft_broker_republish(weft_broker *b, const char *queue, const char *body, size_t len,
                                  const weft_broker_props *props, weft_err *err)
{
    if (!b->healthy)
        return fail(b, err, "publish", "connection is down");
    amqp_basic_properties_t p = props->p;
    p._flags &= ~(amqp_flags_t)AMQP_BASIC_USER_ID_FLAG;
    amqp_table_entry_t *kept = NULL;
    if (p._flags & AMQP_BASIC_HEADERS_FLAG) {
        kept = weft_xcalloc((size_t)p.headers.num_entries + 1, sizeof *kept);
        int n = 0;
        for (int i = 0; i < p.headers.num_entries; i++)
            if (!dead_letter_header(p.headers.entries[i].key))
                kept[n++] = p.headers.entries[i];
        p.headers = (amqp_table_t){n, kept};
    }
    amqp_bytes_t bytes = {len, (void *)body};
    int rc = amqp_basic_publish(b->conn, CHANNEL, amqp_empty_bytes, amqp_cstring_bytes(queue), 1, 0,
                                &p, bytes);
    free(kept);
    if (rc != AMQP_STATUS_OK)
        return fail(b, err, "publish", amqp_error_string2(rc));
    track_unconfirmed(b);
    return WEFT_OK;
}

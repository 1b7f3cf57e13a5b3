/* RabbitMQ: one connection with one channel in confirm mode, the topology of DESIGN §2
 * declared by one function, confirmed publishing and manual-ack consuming. A weft_broker is
 * used by one thread at a time.
 *
 * Blocked: at a memory or disk alarm RabbitMQ blocks each connection that publishes: it
 * says so (connection.blocked, which the connection asks for at login) and reads nothing
 * more from it, publishes, acks and closes included, until every alarm cleared
 * (connection.unblocked). The connection stays healthy meanwhile (heartbeats still come), so
 * a caller waits rather than reconnects: a new connection is blocked at its first publish.
 *
 * Retries wait in a delay queue of their bucket (weft_broker_delay_bucket) and then reach the
 * queue they are for: `default`'s in weft.retry.<ms>, which dead-letters into `default`; a
 * weft.tasks.* queue's in weft.delay.<ms>, reached through the fanout exchange of that name
 * with the queue as routing key, which it keeps when it dead-letters (queues.h). */
#ifndef WEFT_BROKER_H
#define WEFT_BROKER_H

#include "queues.h"
#include "status.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct weft_broker weft_broker;

typedef struct {
    char *body; /* owned, NUL-terminated copy of the message body */
    size_t len;
    uint64_t tag;
    bool redelivered;
    char *reason;     /* owned or NULL: the x-weft-reason header, when present */
    char *message_id; /* owned or NULL: the AMQP message_id property, when present */
    char *queue;      /* owned or NULL: the queue it was consumed from (NULL from basic.get) */
    /* owned or NULL: the headers `task` and `id` of a message in Celery's task protocol v2
     * (celery.h), when present */
    char *celery_task;
    char *celery_id;
    size_t oversize;  /* 0, or the declared size of a body over the limit: body then holds
                         only its first WEFT_BROKER_OVERSIZE_KEEP bytes (see below) */
} weft_delivery;

/* What a consumer keeps of a body over its limit (weft_broker_limit_body): the start, for the
 * operator's trace in weft.dead; the rest is read off the socket and dropped unread. */
#define WEFT_BROKER_OVERSIZE_KEEP (64u * 1024u)

/* Opens a connection to url (borrowed; amqp:// or amqps://) with the given heartbeat,
 * logs in, opens channel 1 in confirm mode and declares the topology. An amqps://
 * connection verifies the broker's certificate and host name (a DNS name of the
 * certificate: rabbitmq-c 0.11 matches no IP address), against the CA file cacert
 * (borrowed; NULL: OpenSSL's default file, SSL_CERT_FILE when set). *out is new; free with
 * weft_broker_destroy. WEFT_EINVAL for what no reconnect fixes: a malformed URL, a CA file
 * that does not load, a certificate that does not verify or is for another host;
 * WEFT_EAMQP when the broker cannot be reached or refuses (err names host:port, never the
 * password). */
weft_status weft_broker_connect(const char *url, const char *cacert, int heartbeat_s,
                                weft_broker **out, weft_err *err);

/* Deliveries whose content header declares more than max_bytes (0: no limit) are never read
 * into memory whole: they arrive with `oversize` set. */
void weft_broker_limit_body(weft_broker *b, size_t max_bytes);

/* Closes politely when the connection is healthy and not blocked (else drops it); accepts
 * NULL. Unacked deliveries go back to their queues. */
void weft_broker_destroy(weft_broker *b);

/* Starts consuming queues (borrowed, nqueues >= 1) with manual acks, one consumer per queue
 * under tags the broker picks, and at most prefetch deliveries unacknowledged across all of
 * them. A weft.tasks.* queue or a handoff shard is declared first. The consumers end with the connection.
 * WEFT_EAMQP on failure. */
weft_status weft_broker_consume(weft_broker *b, const char *const *queues, size_t nqueues,
                                int prefetch, weft_err *err);

/* Stops the consumers (basic.cancel) so that no more deliveries come while the caller still
 * works on one it took; deliveries already buffered go back to the queue. For a message
 * acknowledged before its work is done (an attempt longer than the broker lets a delivery
 * stay unacknowledged: consumer_timeout). A no-op when not consuming. WEFT_EAMQP on failure. */
weft_status weft_broker_pause(weft_broker *b, weft_err *err);

/* Consumes again what weft_broker_consume named, after weft_broker_pause; a no-op when
 * consuming. WEFT_EAMQP on failure. */
weft_status weft_broker_resume(weft_broker *b, weft_err *err);

/* hook(arg) (both borrowed; NULL: none) is called about once a second while
 * weft_broker_wait_confirms waits: a caller holding a lease renews it there. */
void weft_broker_on_wait(weft_broker *b, void (*hook)(void *arg), void *arg);

/* Publishes body (borrowed) to queue (declared first when it is a weft.tasks.* one) as a
 * persistent JSON message with a fresh message id and the given priority (0..10). Does not
 * wait: call weft_broker_wait_confirms before acking the message that caused it. */
weft_status weft_broker_publish(weft_broker *b, const char *queue, const char *body, size_t len,
                                int priority, weft_err *err);

/* weft_broker_publish with the publisher's own message_id (borrowed; NULL: a fresh one), for
 * tools that re-publish a message under its original id. */
weft_status weft_broker_publish_id(weft_broker *b, const char *queue, const char *body, size_t len,
                                   int priority, const char *message_id, weft_err *err);

/* Publishes to a retry delay queue: the message reaches queue (borrowed: `default` or a
 * weft.tasks.* queue, declared first) after at least delay_ms (rounded up to a bucket;
 * *bucket_ms gets it when not NULL). */
weft_status weft_broker_publish_delayed(weft_broker *b, const char *queue, const char *body,
                                        size_t len, int priority, int delay_ms, int *bucket_ms,
                                        weft_err *err);

/* Publishes body unchanged (and under its message_id) to weft.dead with x-weft-reason and
 * x-weft-queue headers (and x-weft-original-bytes for an oversize one, whose kept start is
 * what goes there), waits
 * for its confirm, then acks tag: the message is parked for an operator, with its reason. */
weft_status weft_broker_dead_letter(weft_broker *b, const weft_delivery *d, const char *from_queue,
                                    const char *reason, weft_err *err);

/* Waits until the broker confirmed every publish so far. WEFT_EAMQP on a nack, a return
 * (unroutable) or a connection failure; WEFT_ETIMEOUT after timeout_ms. Time blocked does
 * not count (the whole timeout is left once the alarm clears): a blocked wait ends with
 * WEFT_ETIMEOUT after 10 minutes blocked, and with WEFT_ESHUTDOWN as soon as a stop is
 * requested (stop.h), the publishes then left to the broker. */
weft_status weft_broker_wait_confirms(weft_broker *b, int timeout_ms, weft_err *err);

/* True between connection.blocked and connection.unblocked (see the top of this file). */
bool weft_broker_blocked(const weft_broker *b);

/* Next delivery of the consumer, waiting up to timeout_ms (0: poll; services heartbeats
 * meanwhile). WEFT_ETIMEOUT when none came; out is filled on WEFT_OK and released with
 * weft_delivery_finish. */
weft_status weft_broker_next(weft_broker *b, int timeout_ms, weft_delivery *out, weft_err *err);
void weft_delivery_finish(weft_delivery *d);

/* Services the connection (heartbeats, confirms) for up to timeout_ms without taking
 * deliveries out of the buffer. */
weft_status weft_broker_pump(weft_broker *b, int timeout_ms, weft_err *err);

weft_status weft_broker_ack(weft_broker *b, uint64_t tag, weft_err *err);
/* Acknowledges tag and every unsettled delivery before it on the channel, in one frame. */
weft_status weft_broker_ack_through(weft_broker *b, uint64_t tag, weft_err *err);
/* Puts the message back on its queue (requeue) or drops it to the queue's DLX. */
weft_status weft_broker_reject(weft_broker *b, uint64_t tag, bool requeue, weft_err *err);

/* Messages ready in queue and its consumer count (a passive declare; a handoff shard is
 * declared first, as for a publish). */
weft_status weft_broker_queue_info(weft_broker *b, const char *queue, uint32_t *messages,
                                   uint32_t *consumers, weft_err *err);

/* Takes one message from queue without a consumer (basic.get, auto-ack): WEFT_ENOTFOUND
 * when the queue is empty. For tools and tests that inspect weft.dead. */
weft_status weft_broker_get(weft_broker *b, const char *queue, weft_delivery *out, weft_err *err);

/* Holding messages to look at them (weft dead). weft_broker_get_held takes one with basic.get
 * in manual-ack mode: it stays in its queue, unacknowledged and invisible to other readers,
 * until this connection acks it (gone), rejects it, or closes: a close puts every message
 * it holds back in its place in the queue (RabbitMQ keeps a classic queue's order for
 * returned messages), redelivered flag set. A message's AMQP properties come with it as a
 * weft_broker_props, so that it can be published again as it was. */
typedef struct weft_broker_props weft_broker_props;

/* basic.get without ack from queue: WEFT_ENOTFOUND when the queue has no message ready. On
 * WEFT_OK *out is filled as weft_broker_get does, and *props is new (free with
 * weft_broker_props_destroy). */
weft_status weft_broker_get_held(weft_broker *b, const char *queue, weft_delivery *out,
                                 weft_broker_props **props, weft_err *err);

/* The properties as a new JSON object: the AMQP basic properties that are set, by their
 * names (content_type, delivery_mode, priority, message_id, timestamp, ...), and headers
 * as an object of their values (tables as objects, arrays as arrays, text that is not UTF-8
 * as null). */
json_t *weft_broker_props_json(const weft_broker_props *props);

void weft_broker_props_destroy(weft_broker_props *props);

/* Publishes body (borrowed) to queue with props (borrowed): the same properties and
 * message_id, headers included except weft's x-weft-* and the broker's x-death, and except
 * user_id (the broker refuses one that is not this connection's user). Waits for nothing:
 * call weft_broker_wait_confirms. */
weft_status weft_broker_republish(weft_broker *b, const char *queue, const char *body, size_t len,
                                  const weft_broker_props *props, weft_err *err);

/* The delay bucket a retry of delay_ms goes to: the smallest bucket >= delay_ms. */
int weft_broker_delay_bucket(int delay_ms);
/* Every delay bucket in ms, ascending (static; *n of them). */
const int *weft_broker_delay_buckets(size_t *n);

#endif

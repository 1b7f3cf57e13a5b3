/* Configuration: environment first, flags override (DESIGN §6). Connection URLs come only
 * from the environment or from files named by it, never from argv, so passwords stay out
 * of `ps`. */
#ifndef WEFT_CONFIG_H
#define WEFT_CONFIG_H

#include "weft_limits.h"
#include "log.h"
#include "status.h"

#include <stdbool.h>
#include <stdint.h>

/* The type of weft's queues (WEFT_QUEUE_TYPE). classic: the default, today's topology, for
 * one broker node. quorum: every queue replicated by Raft over the nodes of a RabbitMQ
 * cluster, so a node's loss loses no message; no priorities (README "RabbitMQ cluster").
 * Every process of one system must use the same type: a queue's type never changes once
 * declared. */
typedef enum { WEFT_QUEUE_CLASSIC, WEFT_QUEUE_QUORUM } weft_queue_type;

typedef struct {
    char *amqp_url;     /* owned; WEFT_AMQP_URL or the file named by WEFT_AMQP_URL_FILE: one
                           URL, or the comma-separated URLs of a cluster's nodes (broker.h) */
    char *amqp_cacert;  /* owned; WEFT_AMQP_CACERT (CA file for amqps://), NULL when unset */
    char *database_url; /* owned; WEFT_DATABASE_URL or WEFT_DATABASE_URL_FILE */
    char *redis_url;    /* owned; WEFT_REDIS_URL or WEFT_REDIS_URL_FILE */
    char *data_dir;     /* owned; WEFT_DATA_DIR, NULL when unset */
    char *tasks_file;   /* owned; WEFT_TASKS_FILE or --tasks, NULL when unset */
    char *metrics_addr; /* owned; WEFT_METRICS_ADDR or --metrics HOST:PORT, NULL: no endpoint */
    char *http_addr;    /* owned; WEFT_HTTP_ADDR or --http HOST:PORT (weft-entry's API) */
    char *token_file;   /* owned; WEFT_API_TOKEN_FILE (the API's token), NULL when unset */
    weft_queue_type queue_type; /* WEFT_QUEUE_TYPE */
    weft_log_level log_level;
    weft_log_format log_format;
    weft_limits limits;
    int prefetch;         /* messages in flight per consumer connection */
    int concurrency;      /* worker threads (weft-activity) */
    int grace_s;          /* seconds to finish in-flight work after SIGTERM */
    int sweep_interval_s; /* stuck-work sweeper period (weft-handoff); 0 = off */
    int sweep_after_s;    /* how long queued/running work may sit before it counts as stuck */
    int sweep_batch;      /* at most this many of each kind of stuck work per sweep */
    int lease_s;          /* lease of a running attempt, renewed by its worker */
    int ack_after_s;      /* an attempt running this long acknowledges its message early */
    int task_timeout_s;   /* limit of an attempt whose activity sets no timeout_s; 0 = none */
    bool allow_unknown_tasks; /* weft-entry: skip the check of definitions' task types */
    /* WEFT_HANDOFF_SHARDS or --handoff-shards, 1..WEFT_HANDOFF_SHARDS_MAX (queues.h): how many
     * handoff queues the workflows are spread over. Every process that publishes or consumes
     * handoffs must be given the same number. */
    int handoff_shards;
    /* WEFT_HANDOFF_BATCH or --handoff-batch, 1..WEFT_LOCK_MANY_MAX: weft-handoff's prefetch per
     * shard, and the most handoffs it runs in one transaction (engine.h). 1: one at a time. */
    int handoff_batch;
    /* weft-handoff --shard K[,K...]: bit k set for each shard it serves; 0 (the default, or
     * --shards all): every shard. Checked against handoff_shards by weft-handoff. */
    uint64_t handoff_serve;
} weft_config;

/* Fills cfg (caller's memory) with defaults, then the environment. WEFT_EINVAL names the
 * variable with a bad value. Release with weft_config_finish. */
weft_status weft_config_init(weft_config *cfg, weft_err *err);
void weft_config_finish(weft_config *cfg);

/* WEFT_QUEUE_TYPE from the environment into *out: classic when unset or empty. WEFT_EINVAL,
 * naming the variable and the allowed values, for anything else. The broker reads it at each
 * connect, so that every process of one environment declares the same topology. */
weft_status weft_config_queue_type(weft_queue_type *out, weft_err *err);

/* Applies one of the shared flags (--log-level, --log-format, --prefetch, --concurrency,
 * --grace, --max-message-bytes, --max-activities, --sweep-interval, --sweep-after,
 * --sweep-batch, --lease, --ack-after, --task-timeout, --tasks, --metrics, --http,
 * --handoff-shards, --shard, --shards, and the switch --allow-unknown-tasks) given as name without dashes and its value (NULL for a
 * switch). Returns WEFT_ENOTFOUND for a flag it does not know (the caller may handle it),
 * WEFT_EINVAL for a bad value or a value given to a switch. */
weft_status weft_config_flag(weft_config *cfg, const char *name, const char *value, weft_err *err);

/* True when the shared flag name (without dashes) is a switch, which takes no value. */
bool weft_config_is_switch(const char *name);

/* Help text lines for the shared flags and variables (static). */
const char *weft_config_help(void);

/* Copy of url for messages, with the password of its userinfo replaced by "***"
 * ("user:***@host/x?q=1" after the scheme), or the whole userinfo when it holds no password
 * (it may be a token: "***@host"). Anything else is kept, query included. New string,
 * caller frees. A libpq key=value string gets its password value replaced instead; any
 * other string comes back unchanged. */
char *weft_redact_url(const char *url);

/* Copy of text (a library's error message, say) with every occurrence of url's password —
 * as written in the URL and percent-decoded — replaced by "***". New string, caller frees;
 * text and url are borrowed. For errors that quote the URL, or part of it, back. */
char *weft_redact_secret(const char *text, const char *url);

/* Parses a whole decimal number in [min, max]; false otherwise. */
bool weft_parse_int(const char *s, long min, long max, long *out);

#endif

#include "config.h"

#include "alloc.h"
#include "http_server.h"
#include "lock.h"
#include "queues.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_AMQP_URL "amqp://guest:guest@127.0.0.1:5672"
#define DEFAULT_DATABASE_URL "postgresql://weft@127.0.0.1:5432/weft"
#define DEFAULT_REDIS_URL "redis://127.0.0.1:6379/0"
#define DEFAULT_PREFETCH 4
#define DEFAULT_CONCURRENCY 2
#define DEFAULT_GRACE_S 30
#define DEFAULT_SWEEP_INTERVAL_S 30
#define DEFAULT_SWEEP_AFTER_S 120
/* A worker renews its attempt's lease every third of it, so a lease survives two missed
 * renewals (a Postgres hiccup) and a dead worker's attempt is failed within about
 * lease + sweep interval. */
#define DEFAULT_LEASE_S 30
/* Far below RabbitMQ's consumer_timeout (30 minutes by default), far above most attempts:
 * short attempts keep their delivery to the end, at no extra cost (see README). */
#define DEFAULT_ACK_AFTER_S 60
#define DEFAULT_SWEEP_BATCH 1000
/* An hour: far above what the built-in tasks need, and a hung handler frees its worker (and
 * its message, which the broker would otherwise hold unacked) within it. */
#define DEFAULT_TASK_TIMEOUT_S 3600
/* handoffs per transaction: past a few dozen the commit saved is noise beside the work */
#define DEFAULT_HANDOFF_BATCH 32
#define STR_(x) #x
#define STR(x) STR_(x)

bool weft_parse_int(const char *s, long min, long max, long *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Reads the first line of a file named by an environment variable: the way to hand over a
 * secret-bearing URL without exposing it in the environment of every child. */
static weft_status read_secret_file(const char *var, const char *path, char **out, weft_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return weft_err_set(err, WEFT_EINVAL, "%s: cannot read '%s': %s", var, path,
                            strerror(errno));
    char buf[4096];
    if (!fgets(buf, sizeof buf, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!buf[0])
        return weft_err_set(err, WEFT_EINVAL, "%s: '%s' is empty", var, path);
    *out = weft_xstrdup(buf);
    return WEFT_OK;
}

static weft_status env_url(const char *var, const char *dflt, char **out, weft_err *err)
{
    char file_var[64];
    snprintf(file_var, sizeof file_var, "%s_FILE", var);
    const char *v = getenv(var), *file = getenv(file_var);
    if (v && *v) {
        *out = weft_xstrdup(v);
        return WEFT_OK;
    }
    if (file && *file)
        return read_secret_file(file_var, file, out, err);
    *out = weft_xstrdup(dflt);
    return WEFT_OK;
}

weft_status weft_config_queue_type(weft_queue_type *out, weft_err *err)
{
    const char *v = getenv("WEFT_QUEUE_TYPE");
    if (!v || !*v || strcmp(v, "classic") == 0)
        *out = WEFT_QUEUE_CLASSIC;
    else if (strcmp(v, "quorum") == 0)
        *out = WEFT_QUEUE_QUORUM;
    else
        return weft_err_set(err, WEFT_EINVAL,
                            "WEFT_QUEUE_TYPE: '%.64s' is not a queue type weft declares "
                            "(classic or quorum)",
                            v);
    return WEFT_OK;
}

weft_status weft_config_init(weft_config *cfg, weft_err *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->log_level = WEFT_LOG_INFO;
    cfg->log_format = WEFT_LOG_TEXT;
    cfg->limits = WEFT_LIMITS_DEFAULT;
    cfg->prefetch = DEFAULT_PREFETCH;
    cfg->concurrency = DEFAULT_CONCURRENCY;
    cfg->grace_s = DEFAULT_GRACE_S;
    cfg->sweep_interval_s = DEFAULT_SWEEP_INTERVAL_S;
    cfg->sweep_after_s = DEFAULT_SWEEP_AFTER_S;
    cfg->lease_s = DEFAULT_LEASE_S;
    cfg->ack_after_s = DEFAULT_ACK_AFTER_S;
    cfg->sweep_batch = DEFAULT_SWEEP_BATCH;
    cfg->task_timeout_s = DEFAULT_TASK_TIMEOUT_S;
    cfg->handoff_shards = 1;
    cfg->handoff_batch = DEFAULT_HANDOFF_BATCH;

    weft_status st = weft_config_queue_type(&cfg->queue_type, err);
    if (!st)
        st = env_url("WEFT_AMQP_URL", DEFAULT_AMQP_URL, &cfg->amqp_url, err);
    if (!st)
        st = env_url("WEFT_DATABASE_URL", DEFAULT_DATABASE_URL, &cfg->database_url, err);
    if (!st)
        st = env_url("WEFT_REDIS_URL", DEFAULT_REDIS_URL, &cfg->redis_url, err);
    if (st)
        return st;
    const char *ca = getenv("WEFT_AMQP_CACERT");
    if (ca && *ca)
        cfg->amqp_cacert = weft_xstrdup(ca);
    const char *d = getenv("WEFT_DATA_DIR");
    if (d && *d)
        cfg->data_dir = weft_xstrdup(d);
    const char *tf = getenv("WEFT_API_TOKEN_FILE");
    if (tf && *tf)
        cfg->token_file = weft_xstrdup(tf);

    static const struct {
        const char *var, *flag;
    } vars[] = {{"WEFT_LOG_LEVEL", "log-level"},
                {"WEFT_LOG_FORMAT", "log-format"},
                {"WEFT_MAX_MESSAGE_BYTES", "max-message-bytes"},
                {"WEFT_MAX_ACTIVITIES", "max-activities"},
                {"WEFT_LEASE_S", "lease"},
                {"WEFT_ACK_AFTER_S", "ack-after"},
                {"WEFT_TASK_TIMEOUT_S", "task-timeout"},
                {"WEFT_TASKS_FILE", "tasks"},
                {"WEFT_METRICS_ADDR", "metrics"},
                {"WEFT_HTTP_ADDR", "http"},
                {"WEFT_HANDOFF_SHARDS", "handoff-shards"},
                {"WEFT_HANDOFF_BATCH", "handoff-batch"}};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i].var);
        if (v && *v && weft_config_flag(cfg, vars[i].flag, v, err) != WEFT_OK)
            return weft_err_prefix(err, "%s: ", vars[i].var);
    }
    return WEFT_OK;
}

void weft_config_finish(weft_config *cfg)
{
    char *owned[] = {cfg->amqp_url,     cfg->amqp_cacert, cfg->database_url,
                     cfg->redis_url,    cfg->data_dir,    cfg->tasks_file,
                     cfg->metrics_addr, cfg->http_addr,   cfg->token_file};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        free(owned[i]);
    memset(cfg, 0, sizeof *cfg);
}

bool weft_config_is_switch(const char *name)
{
    return strcmp(name, "allow-unknown-tasks") == 0;
}

/* weft-handoff's choice of shards: --shard K[,K...] adds shards, --shards all takes every
 * one (whether K exists among --handoff-shards is for weft-handoff to say, once all flags
 * are read). */
static weft_status serve_flag(weft_config *cfg, const char *name, const char *value, weft_err *err)
{
    if (strcmp(name, "shards") == 0) {
        if (!value || strcmp(value, "all") != 0)
            return weft_err_set(err, WEFT_EINVAL,
                                "--shards takes 'all' (serve every handoff shard); the number "
                                "of shards is --handoff-shards N (WEFT_HANDOFF_SHARDS)");
        cfg->handoff_serve = 0;
        return WEFT_OK;
    }
    const char *p = value ? value : "";
    uint64_t mask = 0;
    for (;;) {
        char *end;
        errno = 0;
        long k = strtol(p, &end, 10);
        if (end == p || errno || k < 0 || k >= WEFT_HANDOFF_SHARDS_MAX || (*end && *end != ','))
            return weft_err_set(err, WEFT_EINVAL,
                                "--shard takes shard numbers 0..%d, comma-separated (\"0\", "
                                "\"2,3\"), not '%s'",
                                WEFT_HANDOFF_SHARDS_MAX - 1, value ? value : "");
        mask |= UINT64_C(1) << k;
        if (!*end) {
            cfg->handoff_serve |= mask;
            return WEFT_OK;
        }
        p = end + 1;
    }
}

weft_status weft_config_flag(weft_config *cfg, const char *name, const char *value, weft_err *err)
{
    long v;
    static const struct {
        const char *name;
        long min, max;
        size_t offset;
    } ints[] = {
        {"prefetch", 1, 10000, offsetof(weft_config, prefetch)},
        {"concurrency", 1, 1024, offsetof(weft_config, concurrency)},
        {"grace", 0, 86400, offsetof(weft_config, grace_s)},
        {"sweep-interval", 0, 86400, offsetof(weft_config, sweep_interval_s)},
        {"sweep-after", 1, 86400 * 7, offsetof(weft_config, sweep_after_s)},
        {"sweep-batch", 1, 1000000, offsetof(weft_config, sweep_batch)},
        {"lease", 3, 86400, offsetof(weft_config, lease_s)},
        {"ack-after", 0, 86400, offsetof(weft_config, ack_after_s)},
        {"task-timeout", 0, 86400, offsetof(weft_config, task_timeout_s)},
        {"handoff-shards", 1, WEFT_HANDOFF_SHARDS_MAX, offsetof(weft_config, handoff_shards)},
        {"handoff-batch", 1, WEFT_LOCK_MANY_MAX, offsetof(weft_config, handoff_batch)},
    };
    if (weft_config_is_switch(name)) {
        if (value)
            return weft_err_set(err, WEFT_EINVAL, "--%s takes no value", name);
        cfg->allow_unknown_tasks = true;
        return WEFT_OK;
    }
    if (strcmp(name, "log-level") == 0) {
        if (!value || !weft_log_parse_level(value, &cfg->log_level))
            return weft_err_set(err, WEFT_EINVAL, "log level must be debug, info, warn or error");
        return WEFT_OK;
    }
    if (strcmp(name, "log-format") == 0) {
        if (!value || !weft_log_parse_format(value, &cfg->log_format))
            return weft_err_set(err, WEFT_EINVAL, "log format must be text or json");
        return WEFT_OK;
    }
    if (strcmp(name, "tasks") == 0) {
        if (!value || !*value)
            return weft_err_set(err, WEFT_EINVAL, "--tasks needs the path of a task file");
        free(cfg->tasks_file);
        cfg->tasks_file = weft_xstrdup(value);
        return WEFT_OK;
    }
    if (strcmp(name, "metrics") == 0 || strcmp(name, "http") == 0) {
        if (!weft_http_addr_valid(value))
            return weft_err_set(err, WEFT_EINVAL, "--%s needs HOST:PORT (\"127.0.0.1:9100\")",
                                name);
        char **slot = name[0] == 'm' ? &cfg->metrics_addr : &cfg->http_addr;
        free(*slot);
        *slot = weft_xstrdup(value);
        return WEFT_OK;
    }
    if (strcmp(name, "shard") == 0 || strcmp(name, "shards") == 0)
        return serve_flag(cfg, name, value, err);
    if (strcmp(name, "max-message-bytes") == 0) {
        if (!weft_parse_int(value, 1024, 256L * 1024 * 1024, &v))
            return weft_err_set(err, WEFT_EINVAL, "max message bytes must be 1024..268435456");
        cfg->limits.max_message_bytes = (size_t)v;
        return WEFT_OK;
    }
    if (strcmp(name, "max-activities") == 0) {
        if (!weft_parse_int(value, 1, 10000000, &v))
            return weft_err_set(err, WEFT_EINVAL, "max activities must be 1..10000000");
        cfg->limits.max_activities = (size_t)v;
        return WEFT_OK;
    }
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (strcmp(name, ints[i].name) != 0)
            continue;
        if (!weft_parse_int(value, ints[i].min, ints[i].max, &v))
            return weft_err_set(err, WEFT_EINVAL, "--%s must be a whole number in %ld..%ld", name,
                                ints[i].min, ints[i].max);
        *(int *)((char *)cfg + ints[i].offset) = (int)v;
        return WEFT_OK;
    }
    return weft_err_set(err, WEFT_ENOTFOUND, "unknown option --%s", name);
}

const char *weft_config_help(void)
{
    return "Environment:\n"
           "  WEFT_AMQP_URL        amqp:// or amqps:// URL (default " DEFAULT_AMQP_URL "),\n"
           "                       or a cluster's node URLs separated by commas\n"
           "  WEFT_QUEUE_TYPE      classic (default) or quorum (replicated on a cluster)\n"
           "  WEFT_AMQP_CACERT     CA file that verifies an amqps:// broker\n"
           "  WEFT_DATABASE_URL    libpq connection string or URI\n"
           "  WEFT_REDIS_URL       redis://[:password@]host:port/db\n"
           "  WEFT_*_URL_FILE      read the URL from this file instead\n"
           "  WEFT_LOG_LEVEL       debug|info|warn|error (default info)\n"
           "  WEFT_LOG_FORMAT      text|json (default text)\n"
           "  WEFT_MAX_MESSAGE_BYTES, WEFT_MAX_ACTIVITIES  limits (1 MiB, 10000)\n"
           "  WEFT_DATA_DIR        root folder of the file tasks\n"
           "  WEFT_TASKS_FILE      the task file of weft-activity and weft-entry (--tasks FILE)\n"
           "  WEFT_LEASE_S         lease of a running attempt, renewed by its worker (30)\n"
           "  WEFT_ACK_AFTER_S     an attempt running this long acks its message early (60;\n"
           "                       keep it below the broker's consumer_timeout)\n"
           "  WEFT_METRICS_ADDR    --metrics HOST:PORT: Prometheus /metrics, /healthz\n"
           "  WEFT_HTTP_ADDR       --http HOST:PORT: weft-entry's HTTP API, dashboard\n"
           "  WEFT_API_TOKEN_FILE  the API's bearer token, in a file (with --http)\n"
           "  WEFT_HANDOFF_SHARDS  --handoff-shards N: handoff queues, 1..64 (default 1); the\n"
           "                       same N in every weft-entry, weft-activity, weft-handoff\n"
           "  WEFT_HANDOFF_BATCH   --handoff-batch N: weft-handoff's prefetch, and how many\n"
           "                       handoffs it commits together, 1..64 (default "
           STR(DEFAULT_HANDOFF_BATCH) ")\n"
           "  WEFT_TASK_TIMEOUT_S  limit of an attempt whose activity sets no timeout_s\n"
           "                       (default " STR(DEFAULT_TASK_TIMEOUT_S) "; 0: none)\n";
}

/* In a libpq key=value string ("host=db password=x"), where the value of password starts
 * and ends (bare or quoted); false when it has none. */
static bool conninfo_password(const char *s, const char **from, const char **to)
{
    const char *k = strstr(s, "password");
    while (k && k != s && !isspace((unsigned char)k[-1]))
        k = strstr(k + 1, "password");
    if (!k)
        return false;
    const char *v = k + strlen("password");
    v += strspn(v, " \t");
    if (*v != '=')
        return false;
    v++;
    v += strspn(v, " \t");
    const char *end = v;
    if (*end == '\'') {
        for (end++; *end && *end != '\''; end++)
            if (*end == '\\' && end[1])
                end++;
        if (*end)
            end++;
    } else {
        while (*end && !isspace((unsigned char)*end))
            end++;
    }
    *from = v;
    *to = end;
    return end > v;
}

static char *redact_conninfo(const char *s)
{
    const char *v, *end;
    if (!conninfo_password(s, &v, &end))
        return weft_xstrdup(s);
    return weft_xasprintf("%.*s***%s", (int)(v - s), s, end);
}

/* The password of url as written: the userinfo after its first ':' in a scheme://... URL,
 * or the value of password= in a key=value string. New string or NULL. */
static char *url_password(const char *url)
{
    const char *sep = strstr(url, "://"), *v, *end;
    if (!sep)
        return conninfo_password(url, &v, &end) ? weft_xstrndup(v, (size_t)(end - v)) : NULL;
    const char *auth = sep + 3, *auth_end = auth + strcspn(auth, "/?#"), *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    return colon && at > colon + 1 ? weft_xstrndup(colon + 1, (size_t)(at - colon - 1)) : NULL;
}

/* Replaces every occurrence of needle in *text by "***" (needle at least 3 bytes: shorter
 * ones would hide ordinary words and add little). */
static void replace_all(char **text, const char *needle)
{
    size_t n = strlen(needle);
    if (n < 3)
        return;
    char *hit;
    while ((hit = strstr(*text, needle))) {
        char *next = weft_xasprintf("%.*s***%s", (int)(hit - *text), *text, hit + n);
        free(*text);
        *text = next;
    }
}

char *weft_redact_secret(const char *text, const char *url)
{
    char *out = weft_xstrdup(text);
    char *pw = url ? url_password(url) : NULL;
    if (!pw)
        return out;
    replace_all(&out, pw);
    /* the decoded form too, as far as it decodes */
    char *dec = weft_xstrdup(pw);
    size_t w = 0;
    for (size_t r = 0; pw[r]; r++) {
        if (pw[r] == '%' && isxdigit((unsigned char)pw[r + 1]) &&
            isxdigit((unsigned char)pw[r + 2])) {
            char hex[3] = {pw[r + 1], pw[r + 2], '\0'};
            dec[w++] = (char)strtol(hex, NULL, 16);
            r += 2;
        } else {
            dec[w++] = pw[r];
        }
    }
    dec[w] = '\0';
    replace_all(&out, dec);
    /* and the part before a broken escape, which is what a parser quotes least */
    size_t clean = strcspn(pw, "%");
    if (clean < strlen(pw)) {
        pw[clean] = '\0';
        replace_all(&out, pw);
    }
    free(dec);
    free(pw);
    return out;
}

char *weft_redact_url(const char *url)
{
    /* scheme://[user[:password]@]host[:port][/path][?query][#fragment] */
    const char *sep = strstr(url, "://");
    size_t scheme_n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789+-.");
    if (!sep || url + scheme_n != sep || scheme_n == 0)
        return redact_conninfo(url);
    /* the userinfo ends at the last '@' of the authority: an '@' in the path or the query
     * is none, and one left unescaped in a password still hides the whole password */
    const char *auth = sep + 3, *auth_end = auth + strcspn(auth, "/?#"), *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    if (!at)
        return weft_xstrdup(url);
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (!colon) /* a user name alone may be a token: hide it all */
        return weft_xasprintf("%.*s***%s", (int)(auth - url), url, at);
    return weft_xasprintf("%.*s:***%s", (int)(colon - url), url, at);
}

/* weft dead: the dead-letter queue weft.dead, looked at without losing or reordering it.
 *
 * Every command reads the queue the same way: messages are taken from its head one by one
 * with basic.get in manual-ack mode and held by this connection, never rejected one at a
 * time (a reject puts one message back alone, and a crash in between would leave the rest
 * to the broker's timing). Closing the connection then returns every message still held,
 * each to its own place, in one step (weft_broker_get_held). `list` and `show` ack
 * nothing. `requeue` publishes the chosen message to the queue in its x-weft-queue header
 * and acks it in weft.dead only once the broker confirmed that publish; `drop` acks it. A
 * crash between the confirm and the ack leaves a copy in both queues, which the consumers
 * take as the duplicate it is.
 *
 * A message is named by its position (1 = the head, as `list` numbers them) or its message
 * id. Positions shift when the queue changes, so `--id ID` with a position refuses to act
 * when the message there is not that one; an id alone names the first message that carries
 * it (copies of one message share it). */
#include "cli.h"

#include "alloc.h"
#include "broker.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 50
#define REASON_WIDTH 60

typedef struct {
    weft_delivery d;
    weft_broker_props *props;
    json_t *meta; /* weft_broker_props_json */
    size_t position;
} dead_msg;

static void dead_msg_finish(dead_msg *m)
{
    weft_delivery_finish(&m->d);
    weft_broker_props_destroy(m->props);
    json_decref(m->meta);
    memset(m, 0, sizeof *m);
}

static const json_t *header(const dead_msg *m, const char *key)
{
    return json_object_get(json_object_get(m->meta, "headers"), key);
}

/* The broker's own record when it dead-lettered the message (x-death, newest first). */
static const char *x_death(const dead_msg *m, const char *key)
{
    return json_string_value(json_object_get(json_array_get(header(m, "x-death"), 0), key));
}

/* The queue the message came from: weft's x-weft-queue, else the broker's x-death. */
static const char *origin(const dead_msg *m)
{
    const char *q = json_string_value(header(m, "x-weft-queue"));
    return q ? q : x_death(m, "queue");
}

static char *reason(const dead_msg *m)
{
    if (m->d.reason)
        return weft_xstrdup(m->d.reason);
    const char *r = x_death(m, "reason");
    return r ? weft_xasprintf("rabbitmq: %s", r) : weft_xstrdup("(no reason recorded)");
}

/* Takes the next message of weft.dead, held. WEFT_ENOTFOUND at the end of the queue. */
static weft_status take(weft_broker *b, size_t position, dead_msg *m, weft_err *err)
{
    memset(m, 0, sizeof *m);
    weft_status st = weft_broker_get_held(b, WEFT_QUEUE_DEAD, &m->d, &m->props, err);
    if (!st) {
        m->meta = weft_broker_props_json(m->props);
        m->position = position;
    }
    return st;
}

static weft_broker *connect_broker(const weft_config *cfg)
{
    weft_broker *b;
    weft_err err = {0};
    if (weft_broker_connect(cfg->amqp_url, cfg->amqp_cacert, 0, &b, &err)) {
        weft_cli_die("%s", err.msg);
        return NULL;
    }
    return b;
}

static json_t *summary_json(const dead_msg *m)
{
    char *why = reason(m);
    json_t *o = json_pack("{s:I, s:s?, s:s?, s:s, s:I}", "position", (json_int_t)m->position,
                          "message_id", m->d.message_id, "queue", origin(m), "reason", why, "bytes",
                          (json_int_t)m->d.len);
    free(why);
    return o;
}

/* Prints o (owned, released) as --json does; EXIT_DONE. */
static int print_owned_json(json_t *o)
{
    weft_cli_print_json(o);
    json_decref(o);
    return EXIT_DONE;
}

static int dead_list(weft_broker *b, const weft_cli_args *a)
{
    uint32_t ready = 0;
    weft_err err = {0};
    if (weft_broker_queue_info(b, WEFT_QUEUE_DEAD, &ready, NULL, &err))
        return weft_cli_die("%s", err.msg);
    size_t limit = a->limit > 0 ? (size_t)a->limit : DEFAULT_LIMIT;
    json_t *listed = json_array();
    weft_status st = WEFT_OK;
    for (size_t i = 1; i <= limit && !st; i++) {
        dead_msg m;
        st = take(b, i, &m, &err);
        if (!st)
            json_array_append_new(listed, summary_json(&m));
        dead_msg_finish(&m);
    }
    if (st && st != WEFT_ENOTFOUND) {
        json_decref(listed);
        return weft_cli_die("%s", err.msg);
    }
    if (a->json)
        return print_owned_json(json_pack("{s:s, s:I, s:o}", "queue", WEFT_QUEUE_DEAD, "messages",
                                    (json_int_t)ready, "listed", listed));
    printf("%s: %u message%s%s\n", WEFT_QUEUE_DEAD, ready, ready == 1 ? "" : "s",
           json_array_size(listed) < ready ? " (the first ones listed: --limit)" : "");
    printf("%5s  %-36s  %-18s  %8s  %s\n", "N", "MESSAGE ID", "QUEUE", "BYTES", "REASON");
    size_t i;
    json_t *o;
    json_array_foreach(listed, i, o)
    {
        const char *id = json_string_value(json_object_get(o, "message_id"));
        const char *q = json_string_value(json_object_get(o, "queue"));
        printf("%5lld  %-36s  %-18s  %8lld  ", (long long)(i + 1), id ? id : "-", q ? q : "-",
               (long long)json_integer_value(json_object_get(o, "bytes")));
        weft_cli_print_cut(json_string_value(json_object_get(o, "reason")), REASON_WIDTH);
        putchar('\n');
    }
    json_decref(listed);
    return EXIT_DONE;
}

/* Takes messages up to the one named (a position, or a message id), holding them; *m is the
 * one named. Prints the error and returns false when there is none, or when --id refuses. */
static bool find(weft_broker *b, const weft_cli_args *a, dead_msg *m)
{
    const char *arg = a->positional;
    long position = 0;
    bool by_position = weft_parse_int(arg, 1, 1000000000L, &position);
    weft_err err = {0};
    weft_status st = WEFT_OK;
    for (size_t i = 1; !st; i++) {
        st = take(b, i, m, &err);
        if (st)
            break;
        if (by_position ? (long)i == position
                        : m->d.message_id && strcmp(m->d.message_id, arg) == 0)
            break;
        dead_msg_finish(m); /* still held: the close returns it */
    }
    if (st == WEFT_ENOTFOUND && by_position)
        weft_cli_die("weft.dead holds fewer than %ld messages", position);
    else if (st == WEFT_ENOTFOUND)
        weft_cli_die("no message with id '%s' in weft.dead (N for a position)", arg);
    else if (st)
        weft_cli_die("%s", err.msg);
    if (st)
        return false;
    if (a->id && (!m->d.message_id || strcmp(m->d.message_id, a->id) != 0)) {
        weft_cli_die("message %s of weft.dead is %s, not %s: the queue changed; nothing done "
                     "(see weft dead list)",
                     arg, m->d.message_id ? m->d.message_id : "one without a message id", a->id);
        dead_msg_finish(m);
        return false;
    }
    return true;
}

/* The body as text: itself when it is UTF-8 (*exact), else base64. New string. */
static char *body_text(const weft_delivery *d, bool *exact)
{
    json_t *s = json_stringn(d->body, d->len);
    *exact = s != NULL;
    json_decref(s);
    if (*exact)
        return weft_xstrndup(d->body, d->len);
    char *out = weft_xmalloc(4 * ((d->len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)d->body, (int)d->len);
    return out;
}

static int dead_show(const dead_msg *m, bool json)
{
    bool exact;
    char *body = body_text(&m->d, &exact);
    const char *original = json_is_integer(header(m, "x-weft-original-bytes"))
                               ? " (only its start: the message was over the size limit)"
                               : "";
    if (json) {
        json_t *o = summary_json(m);
        json_object_set(o, "properties", m->meta);
        json_object_set_new(o, exact ? "body" : "body_base64", json_string(body));
        free(body);
        return print_owned_json(o);
    }
    char *why = reason(m);
    char *props = json_dumps(m->meta, JSON_COMPACT | JSON_SORT_KEYS);
    printf("position:   %zu\nmessage_id: %s\nqueue:      %s\nreason:     %s\n"
           "properties: %s\nbody (%zu bytes%s%s):\n%s\n",
           m->position, m->d.message_id ? m->d.message_id : "-", origin(m) ? origin(m) : "-", why,
           props, m->d.len, exact ? "" : ", not UTF-8, as base64", original, body);
    free(props);
    free(why);
    free(body);
    return EXIT_DONE;
}

static int dead_requeue(weft_broker *b, const dead_msg *m)
{
    const char *queue = origin(m);
    if (!queue)
        return weft_cli_die("message %zu names no queue (no x-weft-queue header): nothing done",
                            m->position);
    if (header(m, "x-weft-original-bytes"))
        return weft_cli_die("message %zu holds only the start of a message over the size "
                            "limit: it cannot be requeued (drop it)",
                            m->position);
    weft_err err = {0};
    weft_status st = weft_broker_republish(b, queue, m->d.body, m->d.len, m->props, &err);
    if (!st)
        st = weft_broker_wait_confirms(b, 30000, &err);
    if (st)
        return weft_cli_die("requeue to '%s' failed, the message stays in weft.dead: %s", queue,
                            err.msg);
    if (weft_broker_ack(b, m->d.tag, &err))
        return weft_cli_die("requeued to '%s', but not yet removed from weft.dead: %s", queue,
                            err.msg);
    fprintf(stderr, "weft: message %s requeued to %s\n", m->d.message_id ? m->d.message_id : "-",
            queue);
    return EXIT_DONE;
}

static int dead_drop(weft_broker *b, const dead_msg *m)
{
    weft_err err = {0};
    if (weft_broker_ack(b, m->d.tag, &err))
        return weft_cli_die("%s", err.msg);
    fprintf(stderr, "weft: message %s dropped from weft.dead\n",
            m->d.message_id ? m->d.message_id : "-");
    return EXIT_DONE;
}

int weft_cli_dead(const weft_config *cfg, int argc, char **argv)
{
    static const char subs[] = "list, show, requeue or drop";
    if (argc < 3)
        return weft_cli_die("'dead' needs a command: %s (see weft --help)", subs);
    const char *sub = argv[2];
    weft_cli_args a;
    bool ok;
    if (strcmp(sub, "list") == 0)
        ok = weft_cli_parse_args(argc - 1, argv + 1, &a, OPT_JSON | OPT_LIMIT | WEFT_CLI_NO_ARG);
    else if (strcmp(sub, "show") == 0)
        ok = weft_cli_parse_args(argc - 1, argv + 1, &a, OPT_JSON | OPT_ID);
    else if (strcmp(sub, "requeue") == 0 || strcmp(sub, "drop") == 0)
        ok = weft_cli_parse_args(argc - 1, argv + 1, &a, OPT_ID);
    else
        return weft_cli_die("unknown command 'dead %s': %s", sub, subs);
    if (!ok)
        return EXIT_ERROR;
    weft_broker *b = connect_broker(cfg);
    if (!b)
        return EXIT_ERROR;
    int rc;
    if (strcmp(sub, "list") == 0) {
        rc = dead_list(b, &a);
    } else {
        dead_msg m;
        if (!find(b, &a, &m))
            rc = EXIT_ERROR;
        else {
            rc = sub[0] == 's'   ? dead_show(&m, a.json)
                 : sub[0] == 'r' ? dead_requeue(b, &m)
                                 : dead_drop(b, &m);
            dead_msg_finish(&m);
        }
    }
    weft_broker_destroy(b); /* every message still held goes back, in its place */
    return rc;
}

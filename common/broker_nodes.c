#include "broker_nodes.h"

#include "alloc.h"

#include <amqp.h>
#include <ctype.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The node last reached, by position: a hint shared by every connection of the process (they
 * all read one WEFT_AMQP_URL), so a stopped node costs one refused connect, not one per
 * reconnect of each thread. */
static atomic_size_t last_reached;

/* Whether url parses as rabbitmq-c will parse it at connect (amqp_parse_url writes into its
 * argument: a copy). */
static bool url_parses(const char *url)
{
    char *buf = weft_xstrdup(url);
    struct amqp_connection_info info;
    amqp_default_connection_info(&info);
    bool ok = amqp_parse_url(buf, &info) == AMQP_STATUS_OK;
    free(buf);
    return ok;
}

weft_status weft_broker_nodes_parse(const char *list, weft_broker_nodes *nodes, weft_err *err)
{
    nodes->urls = NULL;
    nodes->n = 0;
    size_t count = 1;
    for (const char *p = list; *p; p++)
        count += *p == ',';
    for (const char *p = list;; count--) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && isspace((unsigned char)*p))
            p++, len--;
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        size_t pos = nodes->n + 1, total = nodes->n + count;
        if (!len)
            return total == 1
                       ? weft_err_set(err, WEFT_EINVAL, "WEFT_AMQP_URL is empty")
                       : weft_err_set(err, WEFT_EINVAL,
                                      "WEFT_AMQP_URL: node %zu of %zu is empty (two commas in a "
                                      "row, or one at an end)",
                                      pos, total);
        char *url = weft_xstrndup(p, len);
        if (!url_parses(url)) {
            free(url);
            return total == 1 ? weft_err_set(err, WEFT_EINVAL,
                                             "WEFT_AMQP_URL is not an amqp:// or amqps:// URL")
                              : weft_err_set(err, WEFT_EINVAL,
                                             "WEFT_AMQP_URL: node %zu of %zu is not an amqp:// or "
                                             "amqps:// URL",
                                             pos, total);
        }
        nodes->urls = weft_xrealloc(nodes->urls, (nodes->n + 1) * sizeof *nodes->urls);
        nodes->urls[nodes->n++] = url;
        if (!end)
            return WEFT_OK;
        p = end + 1;
    }
}

void weft_broker_nodes_finish(weft_broker_nodes *nodes)
{
    for (size_t i = 0; i < nodes->n; i++)
        free(nodes->urls[i]);
    free(nodes->urls);
    nodes->urls = NULL;
    nodes->n = 0;
}

size_t weft_broker_nodes_first(const weft_broker_nodes *nodes)
{
    return atomic_load(&last_reached) % nodes->n;
}

void weft_broker_nodes_reached(const weft_broker_nodes *nodes, size_t i)
{
    (void)nodes;
    atomic_store(&last_reached, i);
}

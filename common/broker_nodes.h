/* The broker's nodes: WEFT_AMQP_URL names one RabbitMQ node (an amqp:// or amqps:// URL), or
 * the nodes of one cluster as URLs separated by commas (a comma inside a password is written
 * %2C). A connection goes to one node at a time; weft_broker_connect tries the nodes in turn,
 * starting from the one this process last reached, so a consumer whose node stopped
 * reconnects to another at its next attempt (README "RabbitMQ cluster").
 *
 * Each URL is checked with rabbitmq-c's own parser when the list is parsed, so a connect
 * never meets a malformed one. Messages about a node name it by its position and host:port,
 * never by its URL (which may hold a password). */
#ifndef WEFT_BROKER_NODES_H
#define WEFT_BROKER_NODES_H

#include "status.h"

#include <stddef.h>

typedef struct {
    char **urls; /* owned: each node's URL, white space around it trimmed, in list order */
    size_t n;    /* >= 1 after a successful parse */
} weft_broker_nodes;

/* Splits list (borrowed) into nodes (caller's memory; release with weft_broker_nodes_finish,
 * also after a failure). WEFT_EINVAL, naming the node by its position, for an empty list, an
 * empty item (two commas in a row, a trailing comma) or an item that is not an amqp:// or
 * amqps:// URL. */
weft_status weft_broker_nodes_parse(const char *list, weft_broker_nodes *nodes, weft_err *err);

void weft_broker_nodes_finish(weft_broker_nodes *nodes);

/* The node a connect tries first: the one this process last reached (any thread), or the
 * first of the list. */
size_t weft_broker_nodes_first(const weft_broker_nodes *nodes);

/* Remembers node i as the one reached, for weft_broker_nodes_first. */
void weft_broker_nodes_reached(const weft_broker_nodes *nodes, size_t i);

#endif

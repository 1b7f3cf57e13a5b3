/* The broker's nodes as WEFT_AMQP_URL lists them: one URL, or a cluster's node URLs separated
 * by commas, each checked as rabbitmq-c parses it; a connect starts from the node last
 * reached. Connecting and failing over are fault-tested (tests/faults rabbitmq_cluster). */
#include "broker_nodes.h"

#include <criterion/criterion.h>
#include <string.h>

static weft_broker_nodes parse_ok(const char *list)
{
    weft_broker_nodes nodes;
    weft_err err = {0};
    cr_assert_eq(weft_broker_nodes_parse(list, &nodes, &err), WEFT_OK, "%s: %s", list, err.msg);
    return nodes;
}

/* The message of a refused list; it must never quote a URL (a password may be in it). */
static void parse_refused(const char *list, const char *says)
{
    weft_broker_nodes nodes;
    weft_err err = {0};
    cr_assert_eq(weft_broker_nodes_parse(list, &nodes, &err), WEFT_EINVAL, "'%s' accepted", list);
    cr_assert(strstr(err.msg, says), "'%s': %s", list, err.msg);
    cr_assert_null(strstr(err.msg, "s3cret"), "%s", err.msg);
    weft_broker_nodes_finish(&nodes);
}

/* list parses to exactly the n URLs of want, in order. */
static void parses_to(const char *list, size_t n, const char *const want[])
{
    weft_broker_nodes nodes = parse_ok(list);
    cr_assert_eq(nodes.n, n, "'%s': %zu nodes", list, nodes.n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(nodes.urls[i], want[i], "'%s': node %zu", list, i + 1);
    weft_broker_nodes_finish(&nodes);
}

Test(broker_nodes, one_url_is_one_node)
{
    parses_to("amqps://u:s3cret@mq:5671/v", 1, (const char *[]){"amqps://u:s3cret@mq:5671/v"});
}

Test(broker_nodes, commas_separate_the_nodes_in_order_and_spaces_around_them_go)
{
    parses_to("amqp://u:p@10.0.0.1:5672, amqp://u:p@10.0.0.2:5672 ,\tamqps://u:p@mq3/v ", 3,
              (const char *[]){"amqp://u:p@10.0.0.1:5672", "amqp://u:p@10.0.0.2:5672",
                               "amqps://u:p@mq3/v"});
}

Test(broker_nodes, a_comma_in_a_password_is_written_percent_encoded)
{
    parses_to("amqp://u:a%2Cb@mq1,amqp://u:a%2Cb@mq2", 2,
              (const char *[]){"amqp://u:a%2Cb@mq1", "amqp://u:a%2Cb@mq2"});
}

Test(broker_nodes, an_empty_list_or_item_is_refused_by_its_position)
{
    parse_refused("", "WEFT_AMQP_URL is empty");
    parse_refused("  ", "WEFT_AMQP_URL is empty");
    parse_refused("amqp://u:s3cret@mq1,,amqp://mq3", "node 2 of 3 is empty");
    parse_refused("amqp://u:s3cret@mq1,", "node 2 of 2 is empty");
    parse_refused(",amqp://u:s3cret@mq1", "node 1 of 2 is empty");
}

Test(broker_nodes, an_item_that_is_not_an_amqp_url_is_refused_by_its_position)
{
    parse_refused("http://u:s3cret@mq1", "WEFT_AMQP_URL is not an amqp:// or amqps:// URL");
    parse_refused("amqp://u:s3cret@mq1,mq2:5672", "node 2 of 2 is not an amqp:// or amqps:// URL");
    parse_refused("amqp://u:s3cret@mq1:port,amqp://mq2", "node 1 of 2 is not");
}

Test(broker_nodes, a_connect_starts_from_the_node_last_reached)
{
    weft_broker_nodes nodes = parse_ok("amqp://mq1,amqp://mq2,amqp://mq3");
    cr_assert_eq(weft_broker_nodes_first(&nodes), 0);
    weft_broker_nodes_reached(&nodes, 2);
    cr_assert_eq(weft_broker_nodes_first(&nodes), 2);
    weft_broker_nodes one = parse_ok("amqp://mq1");
    cr_assert_eq(weft_broker_nodes_first(&one), 0, "a shorter list wraps around");
    weft_broker_nodes_finish(&one);
    weft_broker_nodes_finish(&nodes);
}

/* graph: DOT and Mermaid text for a DAG, every name quoted and escaped for its format. */
#include "graph.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* Two activities, b depending on a, with names no definition would pass: the escaping is
 * the renderer's, not the validator's. */
static weft_definition odd(void)
{
    static size_t dep = 0;
    static weft_activity_def acts[2] = {
        {.name = "a \"q\" \\n", .task = "t<1>#2&`x`[y]|z|"},
        {.name = "b\nline", .task = "t\xc3\xbc", .deps = &dep, .ndeps = 1},
    };
    return (weft_definition){.name = "wf\"name", .activities = acts, .n = 2};
}

Test(graph, dot_quotes_and_escapes_names_and_labels)
{
    weft_definition def = odd();
    char *s = weft_graph_render(&def, NULL, WEFT_GRAPH_DOT);
    cr_assert(strstr(s, "digraph \"wf\\\"name\" {"), "%s", s);
    cr_assert(strstr(s, "\"a \\\"q\\\" \\\\n\" [label=\"a \\\"q\\\" \\\\n\\nt<1>#2&`x`[y]|z|\"];"),
              "%s", s);
    cr_assert(strstr(s, "\"a \\\"q\\\" \\\\n\" -> \"b\\nline\";"), "%s", s);
    cr_assert(!strstr(s, "fillcolor=\"#a5d6a7\""), "no statuses, no status colours: %s", s);
    free(s);
}

Test(graph, mermaid_uses_ids_and_entity_codes)
{
    weft_definition def = odd();
    char *s = weft_graph_render(&def, NULL, WEFT_GRAPH_MERMAID);
    cr_assert(strstr(s, "flowchart LR\n  n0[\"a #34;q#34; #92;n<br/>t#60;1#62;#35;2#38;#96;x#96;"
                        "#91;y#93;#124;z#124;\"]\n"),
              "%s", s);
    cr_assert(strstr(s, "  n1[\"b<br/>line<br/>t\xc3\xbc\"]\n"), "UTF-8 as itself: %s", s);
    cr_assert(strstr(s, "  n0 --> n1\n"), "%s", s);
    cr_assert(!strstr(s, "classDef"), "%s", s);
    free(s);
}

Test(graph, statuses_colour_nodes_and_name_their_class)
{
    weft_definition def = odd();
    json_t *st = json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "a \"q\" \\n", "status", "completed",
                           "name", "b\nline", "status", "failed");
    char *s = weft_graph_render(&def, st, WEFT_GRAPH_DOT);
    cr_assert(strstr(s, "completed\", fillcolor=\"#a5d6a7\"];"), "%s", s);
    cr_assert(strstr(s, "failed\", fillcolor=\"#ef9a9a\"];"), "%s", s);
    free(s);
    s = weft_graph_render(&def, st, WEFT_GRAPH_MERMAID);
    cr_assert(strstr(s, "<br/>completed\"]:::completed\n"), "%s", s);
    cr_assert(strstr(s, "  classDef completed fill:#a5d6a7,"), "%s", s);
    cr_assert(strstr(s, "  classDef failed fill:#ef9a9a,"), "%s", s);
    cr_assert(!strstr(s, "classDef running"), "only the classes used: %s", s);
    free(s);
    json_decref(st);
}

Test(graph, formats_and_colours_by_name)
{
    weft_graph_format f;
    cr_assert(weft_graph_format_parse("mermaid", &f) && f == WEFT_GRAPH_MERMAID);
    cr_assert(weft_graph_format_parse("dot", &f) && f == WEFT_GRAPH_DOT);
    cr_assert(!weft_graph_format_parse("svg", &f));
    cr_assert_str_eq(weft_graph_status_color("running"), "#fff59d");
    cr_assert_null(weft_graph_status_color("bogus"));
    cr_assert_null(weft_graph_status_color(NULL));
}

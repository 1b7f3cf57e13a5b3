/* A definition's DAG drawn as text: Graphviz DOT or a Mermaid flowchart (weft graph, the
 * dashboard). One node per activity, labelled with its name and task, one edge per
 * dependency (from the dependency to its dependent); with statuses, each node is filled
 * with its status's colour (DOT fillcolor; Mermaid a classDef per status) and its label
 * names the status. Every name and label is quoted and escaped for its format, so any text
 * a definition holds draws as itself. Pure; no I/O. */
#ifndef WEFT_GRAPH_H
#define WEFT_GRAPH_H

#include "definition.h"

#include <jansson.h>
#include <stdbool.h>

typedef enum { WEFT_GRAPH_DOT, WEFT_GRAPH_MERMAID } weft_graph_format;

/* Parses "dot" or "mermaid" (borrowed); false for anything else. */
bool weft_graph_format_parse(const char *name, weft_graph_format *out);

/* The fill colour ("#rrggbb", static) of an activity status name (borrowed); NULL for an
 * unknown one. */
const char *weft_graph_status_color(const char *status);

/* def (borrowed) drawn in format; statuses (borrowed; NULL: none) is the array
 * weft_store_activities returns, matched to the activities by name. A new string the
 * caller frees. */
char *weft_graph_render(const weft_definition *def, const json_t *statuses,
                        weft_graph_format format);

#endif

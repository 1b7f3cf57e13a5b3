#include "graph.h"

#include "alloc.h"
#include "state.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Light fills that black text reads on, one per activity status (state.h order). */
static const char *const status_colors[] = {
    [WEFT_ACTIVITY_PENDING] = "#e0e0e0",   [WEFT_ACTIVITY_QUEUED] = "#bbdefb",
    [WEFT_ACTIVITY_RUNNING] = "#fff59d",   [WEFT_ACTIVITY_RETRYING] = "#ffcc80",
    [WEFT_ACTIVITY_COMPLETED] = "#a5d6a7", [WEFT_ACTIVITY_FAILED] = "#ef9a9a",
    [WEFT_ACTIVITY_CANCELED] = "#b0bec5",
};
#define N_STATUSES (sizeof status_colors / sizeof status_colors[0])

bool weft_graph_format_parse(const char *name, weft_graph_format *out)
{
    if (strcmp(name, "dot") == 0)
        *out = WEFT_GRAPH_DOT;
    else if (strcmp(name, "mermaid") == 0)
        *out = WEFT_GRAPH_MERMAID;
    else
        return false;
    return true;
}

const char *weft_graph_status_color(const char *status)
{
    weft_activity_status s;
    return status && weft_activity_status_parse(status, &s) ? status_colors[s] : NULL;
}

/* A DOT double-quoted string: quote and backslash escaped (a backslash would otherwise start
 * an escape such as \N), a line break as DOT's \n. */
static void dot_quoted(weft_strbuf *t, const char *s)
{
    weft_strbuf_add(t, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            weft_strbuf_put(t, "\\", 1);
        if (*s == '\n')
            weft_strbuf_add(t, "\\n");
        else if (*s != '\r')
            weft_strbuf_put(t, s, 1);
    }
    weft_strbuf_add(t, "\"");
}

/* Mermaid label text inside ["..."]: every ASCII character that Mermaid reads as syntax
 * (quote, entity '#', HTML's '<' '>' '&', markdown's backtick, brackets, pipes...) as a
 * numeric entity #NN; (Mermaid's own escape); letters, digits, UTF-8 and - _ . / : space
 * as they are. */
static void mermaid_text(weft_strbuf *t, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
            (c >= 'a' && c <= 'z') || strchr("-_./: ", c))
            weft_strbuf_put(t, s, 1);
        else if (c == '\n')
            weft_strbuf_add(t, "<br/>");
        else if (c >= 0x20)
            weft_strbuf_add(t, "#%u;", c);
    }
}

/* The status name of activity `name` in statuses, or NULL. */
static const char *status_of(const json_t *statuses, const char *name)
{
    size_t i;
    const json_t *a;
    json_array_foreach(statuses, i, a)
    {
        const char *n = json_string_value(json_object_get(a, "name"));
        if (n && strcmp(n, name) == 0)
            return json_string_value(json_object_get(a, "status"));
    }
    return NULL;
}

static void render_dot(weft_strbuf *t, const weft_definition *def, const json_t *statuses)
{
    weft_strbuf_add(t, "digraph ");
    dot_quoted(t, def->name);
    weft_strbuf_add(t, " {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", "
                       "fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n");
    for (size_t i = 0; i < def->n; i++) {
        const weft_activity_def *a = &def->activities[i];
        const char *status = status_of(statuses, a->name);
        const char *color = weft_graph_status_color(status);
        char *label = color ? weft_xasprintf("%s\n%s\n%s", a->name, a->task, status)
                            : weft_xasprintf("%s\n%s", a->name, a->task);
        weft_strbuf_add(t, "  ");
        dot_quoted(t, a->name);
        weft_strbuf_add(t, " [label=");
        dot_quoted(t, label);
        if (color)
            weft_strbuf_add(t, ", fillcolor=\"%s\"", color);
        weft_strbuf_add(t, "];\n");
        free(label);
    }
    for (size_t i = 0; i < def->n; i++)
        for (size_t d = 0; d < def->activities[i].ndeps; d++) {
            weft_strbuf_add(t, "  ");
            dot_quoted(t, def->activities[def->activities[i].deps[d]].name);
            weft_strbuf_add(t, " -> ");
            dot_quoted(t, def->activities[i].name);
            weft_strbuf_add(t, ";\n");
        }
    weft_strbuf_add(t, "}\n");
}

/* Mermaid node ids are n0, n1...: an activity's name would have to be a bare word there. */
static void render_mermaid(weft_strbuf *t, const weft_definition *def, const json_t *statuses)
{
    bool used[N_STATUSES] = {false};
    weft_strbuf_add(t, "flowchart LR\n");
    for (size_t i = 0; i < def->n; i++) {
        const weft_activity_def *a = &def->activities[i];
        const char *status = status_of(statuses, a->name);
        weft_activity_status s;
        bool known = status && weft_activity_status_parse(status, &s);
        weft_strbuf_add(t, "  n%zu[\"", i);
        mermaid_text(t, a->name);
        weft_strbuf_add(t, "<br/>");
        mermaid_text(t, a->task);
        if (known) {
            weft_strbuf_add(t, "<br/>");
            weft_strbuf_add(t, "%s", status);
            used[s] = true;
        }
        weft_strbuf_add(t, "\"]");
        if (known)
            weft_strbuf_add(t, ":::%s", status);
        weft_strbuf_add(t, "\n");
    }
    for (size_t i = 0; i < def->n; i++)
        for (size_t d = 0; d < def->activities[i].ndeps; d++)
            weft_strbuf_add(t, "  n%zu --> n%zu\n", def->activities[i].deps[d], i);
    for (size_t s = 0; s < N_STATUSES; s++)
        if (used[s])
            weft_strbuf_add(t, "  classDef %s fill:%s,stroke:#555555,color:#000000\n",
                            weft_activity_status_name((weft_activity_status)s), status_colors[s]);
}

char *weft_graph_render(const weft_definition *def, const json_t *statuses,
                        weft_graph_format format)
{
    weft_strbuf t = {0};
    if (format == WEFT_GRAPH_DOT)
        render_dot(&t, def, statuses);
    else
        render_mermaid(&t, def, statuses);
    return t.s;
}

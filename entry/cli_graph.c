/* weft graph: a definition file's DAG, or a stored workflow's with its statuses. */
#include "cli.h"

#include "definition.h"
#include "graph.h"
#include "message.h"
#include "uuid.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* The definition document: from the store for a uid (with its activities' statuses in
 * *statuses), else from the file. NULL after printing the error. */
static json_t *load(const weft_config *cfg, const char *what, json_t **statuses)
{
    weft_err err = {0};
    *statuses = NULL;
    if (weft_uuid_valid(what)) {
        weft_store *s = weft_cli_open_store(cfg);
        if (!s)
            return NULL;
        json_t *doc;
        weft_status st = weft_store_workflow_definition(s, what, &doc, &err);
        if (!st && (st = weft_store_activities(s, what, statuses, &err)))
            json_decref(doc);
        weft_store_destroy(s);
        if (st)
            weft_cli_die("%s", err.msg);
        return st ? NULL : doc;
    }
    size_t len;
    char *body = weft_cli_read_file(what, &len);
    if (!body)
        return NULL;
    char where[300];
    snprintf(where, sizeof where, "'%s'", what);
    json_t *doc = weft_json_parse(body, len, where, &err);
    free(body);
    if (!doc)
        weft_cli_die("%s", err.msg);
    return doc;
}

int weft_cli_graph(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_args(argc, argv, &a, OPT_FORMAT))
        return EXIT_ERROR;
    weft_graph_format format = WEFT_GRAPH_DOT;
    if (a.format && !weft_graph_format_parse(a.format, &format))
        return weft_cli_die("--format '%s' is neither dot nor mermaid", a.format);
    json_t *statuses;
    json_t *doc = load(cfg, a.positional, &statuses);
    if (!doc)
        return EXIT_ERROR;
    weft_definition *def;
    weft_err err = {0};
    int rc = EXIT_DONE;
    if (weft_definition_parse(doc, &cfg->limits, NULL, &def, &err)) {
        rc = weft_cli_die("'%s': invalid definition: %s", a.positional, err.msg);
    } else {
        char *text = weft_graph_render(def, statuses, format);
        fputs(text, stdout);
        free(text);
        weft_definition_destroy(def);
    }
    json_decref(doc);
    json_decref(statuses);
    return rc;
}

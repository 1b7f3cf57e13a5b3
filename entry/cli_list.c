/* weft list: the newest workflows, filtered by status and name, as a table or JSON. */
#include "cli.h"
#include "store_view.h"

#include "state.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define DEFAULT_LIMIT 50
/* The error column's width when stdout is no terminal (a terminal's own width otherwise). */
#define ERROR_WIDTH 60
#define ERROR_WIDTH_MIN 20

/* The width left for the error column, whose text starts at column `used`. */
static size_t error_width(size_t used)
{
    struct winsize ws;
    if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
        return ERROR_WIDTH;
    return ws.ws_col > used + ERROR_WIDTH_MIN ? ws.ws_col - used : ERROR_WIDTH_MIN;
}

/* "pending, running, ..." for an error naming the valid statuses. */
static void valid_statuses(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int s = WEFT_WORKFLOW_PENDING; s <= WEFT_WORKFLOW_CANCELED && used < size; s++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", s ? ", " : "",
                                 weft_workflow_status_name((weft_workflow_status)s));
}

int weft_cli_list(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_args(argc, argv, &a,
                             OPT_STATUS | OPT_NAME | OPT_LIMIT | OPT_JSON | WEFT_CLI_NO_ARG))
        return EXIT_ERROR;
    weft_workflow_status parsed;
    if (a.status && !weft_workflow_status_parse(a.status, &parsed)) {
        char valid[128];
        valid_statuses(valid, sizeof valid);
        return weft_cli_die("--status '%s' is not a workflow status (one of: %s)", a.status, valid);
    }
    weft_store *s = weft_cli_open_store(cfg);
    if (!s)
        return EXIT_ERROR;
    json_t *rows;
    weft_err err = {0};
    weft_workflow_filter f = {a.status, a.name, a.limit > 0 ? (int)a.limit : DEFAULT_LIMIT};
    weft_status st = weft_store_list_workflows(s, &f, &rows, &err);
    weft_store_destroy(s);
    if (st)
        return weft_cli_die("%s", err.msg);
    /* done: the activities terminal and handed off, what the workflow row counts */
    size_t k;
    json_t *r;
    json_array_foreach(rows, k, r)
    {
        json_object_set_new(r, "done",
                            json_integer(json_integer_value(json_object_get(r, "total")) -
                                         json_integer_value(json_object_get(r, "remaining"))));
    }
    if (a.json) {
        weft_cli_print_json(rows);
        json_decref(rows);
        return EXIT_DONE;
    }
    int used = printf("%-36s  %-20s  %-9s  %9s  %-20s  %10s  ", "UID", "NAME", "STATUS", "DONE",
                      "CREATED", "DURATION");
    printf("ERROR\n");
    size_t width = error_width(used > 0 ? (size_t)used : 0);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        char done[32], dur[32];
        snprintf(done, sizeof done, "%lld/%lld",
                 (long long)json_integer_value(json_object_get(row, "done")),
                 (long long)json_integer_value(json_object_get(row, "total")));
        snprintf(dur, sizeof dur, "%.1fs", json_number_value(json_object_get(row, "duration_s")));
        printf("%-36s  %-20s  %-9s  %9s  %-20s  %10s  ",
               json_string_value(json_object_get(row, "uid")),
               json_string_value(json_object_get(row, "name")),
               json_string_value(json_object_get(row, "status")), done,
               json_string_value(json_object_get(row, "created_at")), dur);
        const char *error = json_string_value(json_object_get(row, "error"));
        weft_cli_print_cut(error ? error : "", width);
        putchar('\n');
    }
    json_decref(rows);
    return EXIT_DONE;
}

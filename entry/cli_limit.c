/* weft limit set|list|clear (DESIGN §10): the limits across all workers, in Postgres
 * (store_limit.h). Workers read them within about a second (global_limit.h); nothing here
 * talks to Redis. */
#include "cli.h"

#include "definition.h"
#include "global_limit.h"
#include "rate.h"
#include "store_limit.h"

#include <stdio.h>
#include <string.h>

/* The most attempts a global limit may let run at once. */
#define LIMIT_MAX 100000

static int limit_set(const weft_config *cfg, const weft_cli_args *a)
{
    if (!weft_name_valid(a->positional))
        return weft_cli_die("'%s' is no task type name ([A-Za-z0-9_.-], 1 to %d characters)",
                            a->positional, WEFT_MAX_NAME_LEN);
    if (!a->positional2 && !a->rate)
        return weft_cli_die("'limit set %s' needs N (running attempts) or --rate COUNT/UNIT, or"
                            " both",
                            a->positional);
    long n = 0;
    if (a->positional2 && !weft_parse_int(a->positional2, 1, LIMIT_MAX, &n))
        return weft_cli_die("limit set %s: N must be a whole number from 1 to %d, got '%s'",
                            a->positional, LIMIT_MAX, a->positional2);
    double per_s = 0;
    weft_err err = {0};
    if (a->rate && weft_rate_parse(a->rate, &per_s, &err))
        return weft_cli_die("limit set %s: --rate: %s", a->positional, err.msg);
    weft_store *s = weft_cli_open_store(cfg);
    if (!s)
        return EXIT_ERROR;
    weft_status st = weft_store_limit_set(s, a->positional, (int)n, per_s, a->rate, &err);
    weft_store_destroy(s);
    if (st)
        return weft_cli_die("%s", err.msg);
    fprintf(stderr, "weft: %s limited", a->positional);
    if (n)
        fprintf(stderr, " to %ld running at once", n);
    if (a->rate)
        fprintf(stderr, "%s to %s", n ? " and" : "", a->rate);
    fprintf(stderr, " across all workers (they see it within %d s)\n",
            (WEFT_GLOBAL_LIMITS_CACHE_MS + 999) / 1000 + 1);
    return EXIT_DONE;
}

static int limit_clear(const weft_config *cfg, const weft_cli_args *a)
{
    weft_store *s = weft_cli_open_store(cfg);
    if (!s)
        return EXIT_ERROR;
    bool found = false;
    weft_err err = {0};
    weft_status st = weft_store_limit_clear(s, a->positional, &found, &err);
    weft_store_destroy(s);
    if (st)
        return weft_cli_die("%s", err.msg);
    if (!found)
        return weft_cli_die("task '%s' has no global limit (see weft limit list)", a->positional);
    fprintf(stderr, "weft: %s has no global limit now\n", a->positional);
    return EXIT_DONE;
}

static int limit_list(const weft_config *cfg, const weft_cli_args *a)
{
    json_t *list = weft_cli_read_listing(cfg, weft_store_limits);
    if (!list)
        return EXIT_ERROR;
    if (a->json) {
        weft_cli_print_json(list);
        json_decref(list);
        return EXIT_DONE;
    }
    printf("%-40s %11s %-12s %s\n", "TASK", "CONCURRENCY", "RATE", "UPDATED");
    size_t i;
    json_t *l;
    json_array_foreach(list, i, l)
    {
        const json_t *c = json_object_get(l, "concurrency");
        const char *rate = json_string_value(json_object_get(l, "rate"));
        char conc[16] = "-";
        if (json_is_integer(c))
            snprintf(conc, sizeof conc, "%d", (int)json_integer_value(c));
        printf("%-40s %11s %-12s %s\n", json_string_value(json_object_get(l, "task")), conc,
               rate ? rate : "-", json_string_value(json_object_get(l, "updated_at")));
    }
    if (json_array_size(list) == 0)
        printf("(no global limits)\n");
    json_decref(list);
    return EXIT_DONE;
}

int weft_cli_limit(const weft_config *cfg, int argc, char **argv)
{
    static const char subs[] = "set, list or clear";
    if (argc < 3)
        return weft_cli_die("'limit' needs a command: %s (see weft --help)", subs);
    const char *sub = argv[2];
    weft_cli_args a;
    bool ok;
    if (strcmp(sub, "set") == 0)
        ok = weft_cli_parse_args(argc - 1, argv + 1, &a, OPT_RATE | WEFT_CLI_TWO_ARGS);
    else if (strcmp(sub, "list") == 0)
        ok = weft_cli_parse_args(argc - 1, argv + 1, &a, OPT_JSON | WEFT_CLI_NO_ARG);
    else if (strcmp(sub, "clear") == 0)
        ok = weft_cli_parse_args(argc - 1, argv + 1, &a, 0);
    else
        return weft_cli_die("unknown command 'limit %s': %s", sub, subs);
    if (!ok)
        return EXIT_ERROR;
    return sub[0] == 's' ? limit_set(cfg, &a) : sub[0] == 'l' ? limit_list(cfg, &a)
                                                             : limit_clear(cfg, &a);
}

/* weft watch: a workflow's progress, live, until it ends; then exits as `weft wait` does.
 *
 * On a terminal the view is redrawn in place with ANSI cursor movement (no curses: a few
 * escape sequences every terminal emulator in use understands, and no terminfo lookup to
 * fail): a header with the status and X/N, the stage, and one bar per running activity
 * with its last progress and message. Anywhere else, plain lines and only on change: an
 * activity's status, attempt or progress, the workflow's X/N and stage, its status. The
 * store's notification (a workflow finished) wakes it at once; progress is polled at the
 * interval, as it is stored, at most about twice a second per attempt. */
#include "cli.h"

#include "clock.h"
#include "progress.h"
#include "state.h"
#include "strbuf.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define DEFAULT_INTERVAL_S 1.0
#define BAR_WIDTH 24
#define NAME_WIDTH 20

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig)
{
    stop_signal = sig;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The live view: lines, each cut to the terminal's width so that none wraps (a wrapped
 * line would throw the cursor arithmetic of the next redraw off). */
static void view(weft_strbuf *f, const weft_workflow_info *w, const json_t *acts,
                 const json_t *summary, size_t cols)
{
    char progress[256];
    weft_strbuf_add(f, "workflow %s (%s): %s  %s  %.1fs\n", w->uid, w->name,
                    weft_workflow_status_name(w->status),
                    weft_progress_format(summary, progress, sizeof progress), w->run_s);
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a)
    {
        const char *status = str(a, "status");
        json_t *pct = json_object_get(a, "progress");
        if (strcmp(status, "running") == 0) {
            double p = json_is_number(pct) ? json_number_value(pct) : 0;
            int filled = (int)(p / 100.0 * BAR_WIDTH + 0.5);
            char bar[BAR_WIDTH + 1];
            for (int k = 0; k < BAR_WIDTH; k++)
                bar[k] = k < filled ? '#' : '.';
            bar[BAR_WIDTH] = '\0';
            char pcol[16] = "   -";
            if (json_is_number(pct))
                snprintf(pcol, sizeof pcol, "%3.0f%%", p);
            weft_strbuf_add(f, "  %-*s [%s] %s  %s\n", NAME_WIDTH, str(a, "name"), bar, pcol,
                            str(a, "progress_message"));
        } else if (strcmp(status, "retrying") == 0) {
            weft_strbuf_add(
                f, "  %-*s retrying after attempt %lld: %s\n", NAME_WIDTH, str(a, "name"),
                (long long)json_integer_value(json_object_get(a, "attempt")), str(a, "error"));
        }
    }
    if (w->error)
        weft_strbuf_add(f, "error: %s\n", w->error);
    /* cut each line to cols - 1 code points, in place */
    char *out = f->s, *in = f->s;
    size_t chars = 0;
    for (; *in; in++) {
        if (*in == '\n') {
            chars = 0;
            *out++ = *in;
            continue;
        }
        if (((unsigned char)*in & 0xC0) != 0x80)
            chars++;
        if (chars < cols)
            *out++ = *in == '\t' || *in == '\r' ? ' ' : *in;
    }
    *out = '\0';
    f->len = (size_t)(out - f->s);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Draws frame over the previous one (prev_lines lines above the cursor). */
static void redraw(const char *text, size_t prev_lines)
{
    if (prev_lines > 0)
        printf("\r\033[%zuA", prev_lines);
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        printf("\033[2K%.*s\n", (int)(nl - line), line);
        line = nl + 1;
    }
    printf("\033[J");
    fflush(stdout);
}

/* The plain lines for what changed since prev (NULL at first). */
static void changes(weft_strbuf *f, const weft_workflow_info *w, const json_t *acts,
                    const char *summary, const json_t *prev, const char *prev_summary,
                    weft_workflow_status prev_status)
{
    if (!prev || w->status != prev_status)
        weft_strbuf_add(f, "workflow %s (%s): %s\n", w->uid, w->name,
                        weft_workflow_status_name(w->status));
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a)
    {
        const json_t *b = json_array_get(prev, i);
        json_t *pct = json_object_get(a, "progress");
        long long attempt = (long long)json_integer_value(json_object_get(a, "attempt"));
        if (!b || strcmp(str(a, "status"), str(b, "status")) != 0 ||
            attempt != (long long)json_integer_value(json_object_get(b, "attempt"))) {
            const char *error = str(a, "error");
            weft_strbuf_add(f, "activity %s: %s (attempt %lld)%s%s\n", str(a, "name"),
                            str(a, "status"), attempt, *error ? ": " : "", error);
        }
        if (json_is_number(pct) &&
            (!b || !json_equal(pct, json_object_get(b, "progress")) ||
             strcmp(str(a, "progress_message"), str(b, "progress_message")) != 0))
            weft_strbuf_add(f, "activity %s: %.0f%% %s\n", str(a, "name"), json_number_value(pct),
                            str(a, "progress_message"));
    }
    if (!prev_summary || strcmp(summary, prev_summary) != 0)
        weft_strbuf_add(f, "progress: %s\n", summary);
}

static size_t terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
        return ws.ws_col - 1;
    return 79;
}

int weft_cli_watch(const weft_config *cfg, int argc, char **argv)
{
    weft_cli_args a;
    if (!weft_cli_parse_uid_args(argc, argv, &a, OPT_INTERVAL | OPT_TIMEOUT))
        return EXIT_ERROR;
    double interval_s = a.interval_s > 0 ? a.interval_s : DEFAULT_INTERVAL_S;
    bool tty = isatty(STDOUT_FILENO);
    weft_store *s = weft_cli_open_store(cfg);
    if (!s)
        return EXIT_ERROR;
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: the wait ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (tty)
        fputs("\033[?25l", stdout); /* the cursor hidden while redrawing */
    double start = weft_clock_s();
    json_t *prev = NULL;
    char *prev_text = NULL;
    weft_workflow_status prev_status = WEFT_WORKFLOW_PENDING;
    size_t drawn = 0;
    int rc = -1;
    while (rc < 0 && !stop_signal) {
        weft_workflow_info w;
        json_t *acts = NULL;
        weft_err err = {0};
        weft_status st = weft_store_workflow(s, a.positional, &w, &err);
        if (!st && (st = weft_store_activities(s, a.positional, &acts, &err)))
            weft_workflow_info_finish(&w);
        double elapsed = weft_clock_s() - start;
        if (st == WEFT_ENOTFOUND && elapsed > WEFT_CLI_UNKNOWN_GRACE_S)
            rc = weft_cli_die("unknown workflow %s", a.positional);
        else if (st && st != WEFT_ENOTFOUND)
            rc = weft_cli_die("%s", err.msg);
        if (!st) {
            json_t *summary = weft_progress_summary(acts);
            char line[256];
            weft_progress_format(summary, line, sizeof line);
            weft_strbuf f = {0};
            if (tty)
                view(&f, &w, acts, summary, terminal_columns());
            else
                changes(&f, &w, acts, line, prev, prev_text, prev_status);
            if (tty && f.s && (!prev_text || strcmp(f.s, prev_text) != 0)) {
                redraw(f.s, drawn);
                drawn = count_lines(f.s);
            } else if (!tty && f.s) {
                fputs(f.s, stdout);
                fflush(stdout);
            }
            free(prev_text);
            prev_text = tty ? (f.s ? f.s : strdup("")) : strdup(line);
            if (!tty)
                free(f.s);
            json_decref(prev);
            prev = acts;
            prev_status = w.status;
            json_decref(summary);
            if (weft_workflow_status_terminal(w.status)) {
                if (tty)
                    fputs("\033[?25h", stdout);
                fflush(stdout);
                rc = weft_cli_report(&w);
            }
            weft_workflow_info_finish(&w);
        }
        if (rc < 0 && a.timeout_s >= 0 && elapsed >= a.timeout_s)
            rc = (fprintf(stderr, "weft: timed out after %.1f s watching %s\n", elapsed,
                          a.positional),
                  EXIT_TIMEOUT);
        if (rc < 0) {
            double wait_s = interval_s;
            if (a.timeout_s >= 0 && a.timeout_s - elapsed < wait_s)
                wait_s = a.timeout_s - elapsed;
            st = weft_store_wait_notify(s, (int)(wait_s * 1000) + 1, &err);
            if (st && st != WEFT_ETIMEOUT)
                rc = weft_cli_die("%s", err.msg);
        }
    }
    if (tty)
        fputs("\033[?25h", stdout);
    fflush(stdout);
    json_decref(prev);
    free(prev_text);
    weft_store_destroy(s);
    if (stop_signal) {
        /* the cursor is back: end by the signal, as a shell expects of an interrupted tool */
        signal(stop_signal, SIG_DFL);
        raise(stop_signal);
    }
    return rc;
}

/* clickpulse query "SQL": runs SQL on the store and prints the result as a
 * table, CSV or JSON — through the running daemon's API when there is one,
 * else on the database file, read-only. */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_FORMAT, OPT_MAX_ROWS, OPT_WAIT };

static const cli_opt opts[] = {
    {.name = "format",
     .metavar = "table|csv|json",
     .id = OPT_FORMAT,
     .help = "Output format (default: table)."},
    {.name = "max-rows",
     .metavar = "N",
     .id = OPT_MAX_ROWS,
     .help = "Print at most N rows (default: all)."},
    {.name = "wait",
     .metavar = "MS",
     .id = OPT_WAIT,
     .help = "With a running daemon: wait up to MS milliseconds (0-60000, default 2000) for\n"
             "silver to hold every event acknowledged before the query."},
    {0},
};

static int parse_format(const char *f, cp_query_format *out)
{
    static const char *const names[] = {"table", "csv", "json"};
    for (int i = 0; i < 3; i++)
        if (strcmp(f, names[i]) == 0) return *out = (cp_query_format)i, 0;
    return -1;
}

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    cli_args *args = parsed;
    const char *format = args->flags[OPT_FORMAT] ? args->flags[OPT_FORMAT] : "table";
    cp_query_format fmt;
    long max_rows = args->flags[OPT_MAX_ROWS] ? atol(args->flags[OPT_MAX_ROWS]) : 0;
    char err[2048], path[4096];
    if (argc != 1) {
        cli_error(cmd->name, "expects one SQL statement, quoted: clickpulse query \"SELECT ...\"");
        return CLI_USAGE;
    }
    if (parse_format(format, &fmt)) {
        cli_error(cmd->name, "unknown format '%s' (expected table, csv or json)", format);
        return CLI_USAGE;
    }
    long wait_ms = -1;
    if (args->flags[OPT_WAIT]) {
        char *end;
        wait_ms = strtol(args->flags[OPT_WAIT], &end, 10);
        if (end == args->flags[OPT_WAIT] || *end || wait_ms < 0 || wait_ms > 60000) {
            cli_error(cmd->name, "--wait: expected milliseconds from 0 to 60000, got '%s'",
                      args->flags[OPT_WAIT]);
            return CLI_USAGE;
        }
    }
    int handled = 0, rc = cli_query_daemon(cfg, argv[0], format, max_rows, wait_ms, &handled);
    if (handled) return rc;
    snprintf(path, sizeof(path), "%s/clickpulse.duckdb", cfg->data_dir);
    cp_store *s;
    int e = cp_store_open(path, true, &s, err, sizeof(err));
    if (e) {
        cli_error(cmd->name, "%s%s", err,
                  e == CP_EAGAIN ? " (the daemon holds it: is its API reachable?)" : "");
        return CLI_FAILURE;
    }
    if (cp_store_query(s, argv[0], fmt, max_rows, stdout, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        rc = CLI_FAILURE;
    }
    cp_store_close(s);
    return rc;
}

const cli_cmd cli_cmd_query = {
    .name = "query",
    .summary = "Run SQL on the silver and gold tables.",
    .usage = "clickpulse query \"SQL\" [--format table|csv|json] [--max-rows N] [--wait MS]",
    .details = "With 'clickpulse run' active on the same data directory the query goes\n"
               "through its API (read-only statements only) and sees every event the daemon\n"
               "acknowledged before it (it waits up to 2 s, or --wait MS, for silver to catch\n"
               "up, and says so when it could not); otherwise the database file is opened\n"
               "read-only.",
    .opts = opts,
    .run = run,
};

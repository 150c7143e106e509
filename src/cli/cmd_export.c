/* clickpulse export: silver and gold to Parquet files (DESIGN.md section 4, exports/),
 * Hive-partitioned by day, incrementally; readable by Spark, Trino and DuckDB. Runs on
 * the data directory directly; with the daemon running, its export job does the same. */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/sinks.h"

#include <stdio.h>
#include <string.h>

enum { OPT_FULL };

static const cli_opt opts[] = {
    {.name = "dir", .key = "exports.dir", .metavar = "DIR", .help = "Where the files go."},
    {.name = "full", .id = OPT_FULL, .help = "Write every day again, not only the changed ones."},
    {0},
};

void cli_export_dir(const cp_config *cfg, char *out, size_t len)
{
    if (cfg->exports_dir[0])
        snprintf(out, len, "%s", cfg->exports_dir);
    else
        snprintf(out, len, "%s/exports", cfg->data_dir);
}

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    cli_args *args = parsed;
    (void)argv;
    if (argc) {
        cli_error(cmd->name, "takes no arguments");
        return CLI_USAGE;
    }
    char path[4096], dir[4096], err[2048];
    snprintf(path, sizeof(path), "%s/clickpulse.duckdb", cfg->data_dir);
    cli_export_dir(cfg, dir, sizeof(dir));
    cp_store *s;
    if (cp_store_open(path, false, &s, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    cp_export_report r;
    int rc = cp_export_parquet(s, dir, args->flags[OPT_FULL] != NULL, &r, err, sizeof(err));
    cp_store_close(s);
    if (rc) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    printf("exported %lld days and %lld marts (%lld files) to %s in %.2f s\n", (long long)r.days,
           (long long)r.marts, (long long)r.files, dir, r.seconds);
    return CLI_OK;
}

const cli_cmd cli_cmd_export = {
    .name = "export",
    .summary = "Write silver and the gold marts as Parquet, partitioned by day.",
    .usage = "clickpulse export [--dir DIR] [--full]",
    .details = "Silver's events, orders, order_items and sessions go to\n"
               "DIR/<table>/dt=YYYY-MM-DD/data.parquet, the gold marts to DIR/gold/<mart>.parquet\n"
               "(DIR: exports.dir, default <data_dir>/exports). Only the days with events new\n"
               "since the last export are written again; files appear whole (by rename).",
    .opts = opts,
    .run = run,
};

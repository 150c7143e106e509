/* clickpulse sinks: delivers what silver and gold hold to the configured sinks and exits
 * — a catch-up without the daemon, or a check of a destination's settings. Runs on the
 * data directory directly; with the daemon running, its sinks do the same continuously. */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/sinks.h"
#include "clickpulse/time.h"

#include <stdio.h>
#include <string.h>

enum { OPT_ONLY };

static const cli_opt opts[] = {
    {.name = "only",
     .id = OPT_ONLY,
     .metavar = "NAME",
     .help = "Only this sink: postgres, clickhouse, influx or kafka."},
    {0},
};

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    cli_args *args = parsed;
    const char *only = args->flags[OPT_ONLY];
    (void)argv;
    if (argc) {
        cli_error(cmd->name, "takes no arguments");
        return CLI_USAGE;
    }
    char path[4096], err[2048];
    snprintf(path, sizeof(path), "%s/clickpulse.duckdb", cfg->data_dir);
    cp_store *s;
    if (cp_store_open(path, false, &s, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    cp_sink *sinks[CP_SINKS_MAX];
    size_t n = 0;
    if (cp_sinks_from_config(s, cfg, sinks, &n, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        cp_store_close(s);
        return CLI_FAILURE;
    }
    int rc = n ? CLI_OK : CLI_FAILURE, ran = 0;
    if (!n)
        cli_error(cmd->name, "no sink is configured (sinks.postgres.dsn, sinks.clickhouse.url, "
                             "sinks.influx.url, sinks.kafka.brokers)");
    for (size_t i = 0; i < n; i++) {
        if (only && strcmp(only, cp_sink_name(sinks[i]))) continue;
        ran++;
        int64_t t0 = cp_mono_ns(), rows = cp_sink_drain(sinks[i]);
        double secs = (double)(cp_mono_ns() - t0) / 1e9;
        char why[1024];
        if (rows < 0) {
            cp_sink_up(sinks[i], why, sizeof(why));
            cli_error(cmd->name, "%s: %s", cp_sink_name(sinks[i]), why);
            rc = CLI_FAILURE;
            continue;
        }
        printf("%s: %lld rows in %.2f s (%.0f rows/s)\n", cp_sink_name(sinks[i]), (long long)rows,
               secs, secs > 0 ? (double)rows / secs : 0.0);
    }
    if (only && !ran && n) {
        cli_error(cmd->name, "--only %s: no such sink configured", only);
        rc = CLI_USAGE;
    }
    for (size_t i = 0; i < n; i++) cp_sink_free(sinks[i]);
    cp_store_close(s);
    return rc;
}

const cli_cmd cli_cmd_sinks = {
    .name = "sinks",
    .summary = "Deliver silver and the gold marts to the configured sinks, then exit.",
    .usage = "clickpulse sinks [--only NAME]",
    .details =
        "Each configured sink (PostgreSQL, ClickHouse, InfluxDB, Kafka) gets what it has\n"
        "not yet delivered: silver's new rows by log offset, and the tables delivered whole\n"
        "(customers, sessions, the marts) when they changed. The daemon's sinks do this\n"
        "continuously; see docs/sinks.md.",
    .opts = opts,
    .run = run,
};

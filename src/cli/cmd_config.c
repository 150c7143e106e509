/* clickpulse config show|keys|check: the effective configuration with where
 * each value came from, the documentation of every key, and validation. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    const char *what = argc ? argv[0] : "show";
    if (argc > 1) {
        cli_error(cmd->name, "expects one of show, keys, check");
        return CLI_USAGE;
    }
    if (strcmp(what, "show") == 0) {
        cp_config_show(cfg, stdout);
    } else if (strcmp(what, "keys") == 0) {
        cp_config_help(stdout);
    } else if (strcmp(what, "check") == 0) {
        printf("configuration ok\n");
    } else {
        cli_error(cmd->name, "unknown subcommand '%s' (expected show, keys or check)", what);
        return CLI_USAGE;
    }
    return CLI_OK;
}

const cli_cmd cli_cmd_config = {
    .name = "config",
    .summary = "Show the effective configuration, document the keys, or check a file.",
    .usage = "clickpulse config [show|keys|check] [--config FILE] [--set KEY=VALUE]...",
    .details = "show   every key with its value and where it came from (default, file:line,\n"
               "       environment variable or --set)\n"
               "keys   every key with its type, default and meaning\n"
               "check  load the configuration and report the first error (exit 2) or 'ok'\n\n"
               "Precedence, lowest first: defaults, the YAML file, CLICKPULSE_* environment\n"
               "variables (CLICKPULSE_COLLECTOR_LISTEN for collector.listen), --set.",
    .run = run,
};

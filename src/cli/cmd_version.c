/* clickpulse version: the program's version and those of its main libraries. */
#include "cli.h"

#include <duckdb.h>
#include <stdio.h>
#include <yaml.h>
#include <zstd.h>

#ifndef CP_VERSION
#define CP_VERSION "0.1.0"
#endif

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    if (argc) {
        cli_error(cmd->name, "takes no arguments");
        return CLI_USAGE;
    }
    printf("clickpulse %s\n", CP_VERSION);
    printf("duckdb %s, zstd %s, libyaml %s\n", duckdb_library_version(), ZSTD_versionString(),
           yaml_get_version_string());
    return CLI_OK;
}

const cli_cmd cli_cmd_version = {
    .name = "version",
    .summary = "Print the version of clickpulse and of its libraries.",
    .usage = "clickpulse version",
    .run = run,
};

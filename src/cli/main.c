/* clickpulse: the command-line entry point. Dispatches to a command from a
 * table; every command parses its own options (cli.c) and returns an exit code. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const cli_cmd *const commands[] = {
    &cli_cmd_run,   &cli_cmd_ingest,   &cli_cmd_replay,     &cli_cmd_forget,
    &cli_cmd_query, &cli_cmd_simulate, &cli_cmd_config,     &cli_cmd_models,
    &cli_cmd_jobs,  &cli_cmd_segment,  &cli_cmd_churn,      &cli_cmd_export,
    &cli_cmd_sinks, &cli_cmd_version,  &cli_cmd_kafka_mock, &cli_cmd_passwd};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "clickpulse - real-time customer-behaviour analytics in one binary\n\n"
                 "Usage: clickpulse <command> [options]\n\nCommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\nRun 'clickpulse <command> --help' for a command's options.\n"
                 "Exit codes: 0 ok, 1 runtime failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    /* What clickpulse creates — the data directory, the log, the database, exports,
     * the token — is its user's alone: directories 0700, files 0600. */
    umask(077);
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "--version") == 0) name = "version";
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const cli_cmd *cmd = commands[i];
        if (strcmp(cmd->name, name) != 0) continue;
        cp_config cfg;
        cli_args args;
        if (cp_config_init(&cfg)) {
            fprintf(stderr, "clickpulse: out of memory\n");
            return CLI_FAILURE;
        }
        int rc = cli_parse(cmd, argc - 2, argv + 2, &cfg, &args);
        if (rc == CLI_OK)
            rc = cmd->run(cmd, &cfg, args.n_positional, args.positional, &args);
        else if (rc < 0)
            rc = CLI_OK; /* --help */
        cp_config_free(&cfg);
        return rc;
    }
    fprintf(stderr, "clickpulse: unknown command '%s'\n\n", name);
    usage(stderr);
    return CLI_USAGE;
}

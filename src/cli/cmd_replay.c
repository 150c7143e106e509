/* clickpulse replay: rebuilds every silver table from the bronze log. */
#include "cli.h"

#include "clickpulse/pipeline.h"
#include "clickpulse/time.h"

#include <stdio.h>

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    char err[1024] = {0};
    cp_pipeline *p;
    if (argc) {
        cli_error(cmd->name, "takes no arguments");
        return CLI_USAGE;
    }
    int64_t t0 = cp_mono_ns();
    if (cp_pipeline_open(cfg, &p, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    int rc = cp_pipeline_replay(p) ? CLI_FAILURE : CLI_OK;
    if (rc) cli_error(cmd->name, "%s", cp_pipeline_error(p));
    int64_t n = 0;
    bool null;
    cp_store_scalar(cp_pipeline_store(p), "SELECT count(*) FROM events", &n, &null);
    if (rc == CLI_OK)
        fprintf(stderr, "replay: silver rebuilt from the bronze log: %lld events in %.2f s\n",
                (long long)n, (double)(cp_mono_ns() - t0) / 1e9);
    cp_pipeline_close(p);
    return rc;
}

const cli_cmd cli_cmd_replay = {
    .name = "replay",
    .summary = "Rebuild the silver tables from the bronze log.",
    .usage = "clickpulse replay",
    .details = "Dead letters and duplicates are not in the log (they never enter it) and\n"
               "are kept, as are the sources' positions.",
    .run = run,
};

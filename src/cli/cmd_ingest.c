/* clickpulse ingest FILE…|-: runs files through the pipeline into the bronze log
 * and silver, then refreshes sessions and prints what happened. A file already
 * ingested (in part) resumes from its committed position. */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/pipeline.h"
#include "clickpulse/sources.h"
#include "clickpulse/time.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { OPT_FOLLOW, OPT_QUIET };

static const cli_opt opts[] = {
    {.name = "follow",
     .id = OPT_FOLLOW,
     .help = "Keep reading the (single) file as it grows, until interrupted."},
    {.name = "quiet", .id = OPT_QUIET, .help = "No progress bar and no summary."},
    {0},
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

typedef struct progress {
    const char *name;
    int64_t start_ns;
} progress;

static void show_progress(void *ud, uint64_t done, uint64_t total)
{
    progress *p = ud;
    double secs = (double)(cp_mono_ns() - p->start_ns) / 1e9;
    int width = 30, fill = total ? (int)((double)done / (double)total * width) : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r%-24.24s [%s] %5.1f%% %8.1f MB %6.1f MB/s", p->name, bar,
            total ? 100.0 * (double)done / (double)total : 0.0, (double)done / 1e6,
            secs > 0 ? (double)done / 1e6 / secs : 0.0);
}

static void print_summary(const cp_pipeline_stats *s, double secs)
{
    uint64_t rejected = s->poisoned, accepted = s->accepted - s->poisoned;
    for (int r = 0; r < CP_REJECT__COUNT; r++) rejected += s->rejected[r];
    fprintf(stderr, "ingest: %llu accepted, %llu duplicates, %llu late, %llu rejected",
            (unsigned long long)accepted, (unsigned long long)s->duplicates,
            (unsigned long long)s->late, (unsigned long long)rejected);
    if (s->redelivered)
        fprintf(stderr, ", %llu already ingested", (unsigned long long)s->redelivered);
    fprintf(stderr, " in %.2f s (%.0f events/s)\n", secs,
            secs > 0 ? (double)(accepted + s->duplicates + rejected) / secs : 0.0);
    if (s->dedup_cold)
        fprintf(stderr, "  dedup: %llu messageIds moved to disk (pipeline.dedup_memory)\n",
                (unsigned long long)s->dedup_cold);
    for (int r = 0; r < CP_REJECT__COUNT; r++) {
        uint64_t n = s->rejected[r] + (r == CP_REJECT_STORE_ERROR ? s->poisoned : 0);
        if (n)
            fprintf(stderr, "  rejected %-18s %llu\n", cp_reject_reason_name((cp_reject_reason)r),
                    (unsigned long long)n);
    }
}

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    cli_args *args = parsed;
    char err[1024] = {0};
    if (argc == 0) {
        cli_error(cmd->name, "name at least one file, or '-' for standard input");
        return CLI_USAGE;
    }
    if (args->flags[OPT_FOLLOW] && argc != 1) {
        cli_error(cmd->name, "--follow takes exactly one file");
        return CLI_USAGE;
    }
    cp_pipeline *p;
    if (cp_pipeline_open(cfg, &p, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    /* into an empty silver, the writer keeps the derived tables as it goes */
    if (cp_pipeline_track_derived(p)) {
        cli_error(cmd->name, "%s", cp_pipeline_error(p));
        cp_pipeline_close(p);
        return CLI_FAILURE;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int quiet = args->flags[OPT_QUIET] != NULL, tty = isatty(2), rc = CLI_OK;
    int64_t t0 = cp_mono_ns();
    for (int i = 0; i < argc && rc == CLI_OK && !stop_flag; i++) {
        progress pr = {argv[i], cp_mono_ns()};
        cp_file_options o = {.path = argv[i],
                             .follow = args->flags[OPT_FOLLOW] != NULL,
                             .stop = &stop_flag,
                             .progress = !quiet && tty ? show_progress : NULL,
                             .progress_ud = &pr};
        cp_file_result res;
        err[0] = 0;
        int e = cp_source_file(p, cfg, &o, &res, err, sizeof(err));
        if (!quiet && tty) fputc('\n', stderr);
        if (e) {
            cli_error(cmd->name, "%s", err);
            rc = CLI_FAILURE;
        } else if (!quiet && res.resumed_at) {
            fprintf(stderr, "ingest: %s resumed at byte %llu (already ingested before)\n", argv[i],
                    (unsigned long long)res.resumed_at);
        }
    }
    int64_t t1 = cp_mono_ns(); /* read and in the log */
    if (rc == CLI_OK && cp_pipeline_sync(p)) {
        cli_error(cmd->name, "silver: %s", cp_pipeline_error(p));
        rc = CLI_FAILURE;
    }
    int64_t t2 = cp_mono_ns(); /* in silver */
    /* the sources are done: the derived tables' refresh may have every core, unless
     * store.threads says otherwise */
    if (rc == CLI_OK && cfg->store_threads == 0)
        cp_store_set_threads(cp_pipeline_store(p), sysconf(_SC_NPROCESSORS_ONLN));
    if (rc == CLI_OK && cp_pipeline_refresh_sessions(p)) {
        cli_error(cmd->name, "refreshing sessions: %s", cp_pipeline_error(p));
        rc = CLI_FAILURE;
    }
    if (!quiet) {
        print_summary(cp_pipeline_stats_get(p), (double)(t2 - t0) / 1e9);
        fprintf(stderr, "  read and logged in %.2f s; in silver %.2f s after\n",
                (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9);
        fprintf(stderr, "ingest: sessions, customers and identity map refreshed in %.2f s\n",
                (double)(cp_mono_ns() - t2) / 1e9);
    }
    cp_pipeline_close(p);
    return rc;
}

const cli_cmd cli_cmd_ingest = {
    .name = "ingest",
    .summary = "Ingest files (JSON Lines, Segment batch files, CSV tables) and exit.",
    .usage = "clickpulse ingest [--follow] FILE... | -",
    .details = "Each file goes through validation, dedup, the bronze log and silver in\n"
               "<data_dir>. JSON Lines may hold single events or {\"batch\":[...]} envelopes;\n"
               "CSV files are recognised by their header: customers, purchases or clickstream.\n"
               "A file is read from where its last committed batch ended: ingesting it again\n"
               "adds only what was appended since, and an interrupted ingest resumes.\n"
               "Rejected events go to the dead_letters table with their reason and bytes;\n"
               "the summary counts them.",
    .opts = opts,
    .run = run,
};

/* clickpulse segment and clickpulse churn (DESIGN.md section 7): customer segments by
 * K-Means for a snapshot, with their profiles and the movement since the previous
 * snapshot; churn risk by logistic regression. Both run on the data directory directly
 * (with the daemon running, its scheduled jobs do the same). */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/ml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_ml_options(const cp_config *cfg, cp_ml_options *o, char *err, size_t errlen)
{
    cp_ml_options_default(o);
    if (strcmp(cfg->ml_k, "auto") != 0) {
        char *end;
        errno = 0;
        long k = strtol(cfg->ml_k, &end, 10);
        if (errno || *end || end == cfg->ml_k || k < 1 || k > 64) {
            snprintf(err, errlen, "ml.k: '%s' is neither auto nor a number from 1 to 64",
                     cfg->ml_k);
            return CP_EINVAL;
        }
        o->k = (int)k;
    }
    o->k_max = (int)cfg->ml_k_max;
    o->n_init = (int)cfg->ml_restarts;
    o->seed = (uint64_t)cfg->ml_seed;
    o->lookback_days = (int)cfg->ml_lookback_days;
    o->churn_days = (int)cfg->ml_churn_days;
    o->l2 = cfg->ml_l2;
    return CP_OK;
}

enum { OPT_SNAPSHOT, OPT_PLACE, OPT_FEATURES };

static const cli_opt segment_opts[] = {
    {.name = "k", .key = "ml.k", .metavar = "N|auto", .help = "Number of segments, or auto."},
    {.name = "snapshot",
     .metavar = "DATE[,DATE...]",
     .id = OPT_SNAPSHOT,
     .help = "The day to segment as of (YYYY-MM-DD); default: the day of the latest event. "
             "Several, comma-separated: each in turn, in one run."},
    {.name = "lookback",
     .key = "ml.lookback_days",
     .metavar = "DAYS",
     .help = "Days of activity the features count."},
    {.name = "seed", .key = "ml.seed", .metavar = "N", .help = "Random seed."},
    {.name = "place",
     .metavar = "USER",
     .id = OPT_PLACE,
     .help = "Place one customer into the stored model's segments instead of segmenting."},
    {.name = "features",
     .id = OPT_FEATURES,
     .help = "Print every customer's features as of the snapshot (CSV) instead of segmenting."},
    {0},
};

static const cli_opt churn_opts[] = {
    {.name = "snapshot",
     .metavar = "DATE",
     .id = OPT_SNAPSHOT,
     .help = "The day to score as of (YYYY-MM-DD); default: the day of the latest event."},
    {.name = "days",
     .key = "ml.churn_days",
     .metavar = "N",
     .help = "Churned means no activity for N days."},
    {0},
};

static int open_store(const cli_cmd *cmd, const cp_config *cfg, cp_store **s)
{
    char path[4096], err[2048];
    snprintf(path, sizeof(path), "%s/clickpulse.duckdb", cfg->data_dir);
    if (cp_store_open(path, false, s, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    return CLI_OK;
}

#define MAX_SNAPSHOTS 64

/* --snapshot's dates (n of them, at most MAX_SNAPSHOTS; none: n = 0). */
static int snapshot_days(const cli_cmd *cmd, const char *list, bool several, int32_t *days, int *n)
{
    *n = 0;
    for (const char *d = list; d && *d;) {
        const char *end = strchr(d, ',');
        size_t len = end ? (size_t)(end - d) : strlen(d);
        int64_t ms;
        if (len != 10 || cp_time_parse(d, 10, &ms)) {
            cli_error(cmd->name, "--snapshot %.*s: expected a date YYYY-MM-DD", (int)len, d);
            return CLI_USAGE;
        }
        if (*n == (several ? MAX_SNAPSHOTS : 1)) {
            cli_error(cmd->name, "--snapshot: at most %d dates", several ? MAX_SNAPSHOTS : 1);
            return CLI_USAGE;
        }
        days[(*n)++] = (int32_t)cp_day_of(ms);
        d = end ? end + 1 : d + len;
        if (end && !*d) {
            cli_error(cmd->name, "--snapshot %s: a date after the last comma", list);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

/* Options and the store for either command; the dates of --snapshot (several when the
 * command segments, else one), the first in o->snapshot. */
static int prepare(const cli_cmd *cmd, cp_config *cfg, int argc, void *parsed, bool several,
                   cp_ml_options *o, int32_t *days, int *n_days, cp_store **s)
{
    cli_args *args = parsed;
    char err[256];
    if (argc) {
        cli_error(cmd->name, "takes no arguments");
        return CLI_USAGE;
    }
    if (cli_ml_options(cfg, o, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_USAGE;
    }
    int rc = snapshot_days(cmd, args->flags[OPT_SNAPSHOT], several, days, n_days);
    if (rc) return rc;
    if (*n_days) o->snapshot = days[0];
    return open_store(cmd, cfg, s);
}

static void date_of(int32_t day, char *out)
{
    memset(out, 0, 11);
    if (day == INT32_MIN)
        snprintf(out, 11, "-");
    else
        cp_date_format(day, out);
}

static int place(const cli_cmd *cmd, cp_store *s, const char *user, int32_t snapshot)
{
    char label[128], err[512];
    int cluster;
    int rc = cp_ml_place(s, user, snapshot, &cluster, label, sizeof(label), err, sizeof(err));
    if (rc) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    printf("%s\t%d\t%s\n", user, cluster, label);
    return CLI_OK;
}

static int segment_run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    (void)argv;
    cp_ml_options o;
    cp_store *s;
    const char *user = ((cli_args *)parsed)->flags[OPT_PLACE];
    bool one = user || ((cli_args *)parsed)->flags[OPT_FEATURES];
    int32_t days[MAX_SNAPSHOTS];
    int n_days;
    int rc = prepare(cmd, cfg, argc, parsed, !one, &o, days, &n_days, &s);
    if (rc) return rc;
    if (((cli_args *)parsed)->flags[OPT_FEATURES]) {
        char err[1024];
        rc = cp_ml_features_csv(s, &o, stdout, err, sizeof(err));
        if (rc) cli_error(cmd->name, "%s", err);
        cp_store_close(s);
        return rc ? CLI_FAILURE : CLI_OK;
    }
    if (user) {
        rc = place(cmd, s, user, o.snapshot);
        cp_store_close(s);
        return rc;
    }
    for (int i = 0; i < (n_days ? n_days : 1); i++) {
        cp_ml_report r;
        char err[1024], d[11], p[11];
        if (n_days) o.snapshot = days[i];
        if (cp_ml_segment(s, &o, &r, err, sizeof(err))) {
            cli_error(cmd->name, "%s", err);
            cp_store_close(s);
            return CLI_FAILURE;
        }
        date_of(r.snapshot, d);
        date_of(r.previous, p);
        printf("snapshot %s: %lld customers in %d segments (inertia %.1f, silhouette %.3f, %d "
               "iterations) in %.2f s\n",
               d, (long long)r.customers, r.k, r.inertia, r.silhouette, r.iterations, r.seconds);
        if (r.previous != INT32_MIN)
            printf("since %s: %lld customers moved to another segment\n", p, (long long)r.moved);
    }
    cp_store_close(s);
    return CLI_OK;
}

static int churn_run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    (void)argv;
    cp_ml_options o;
    cp_store *s;
    int32_t day;
    int n_days;
    int rc = prepare(cmd, cfg, argc, parsed, false, &o, &day, &n_days, &s);
    if (rc) return rc;
    cp_ml_report r;
    char err[1024], d[11];
    int e = cp_ml_churn(s, &o, &r, err, sizeof(err));
    cp_store_close(s);
    if (e) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    date_of(r.snapshot, d);
    printf("snapshot %s: %lld customers scored; trained on %lld (%lld churned), held-out AUC "
           "%.3f, in %.2f s\n",
           d, (long long)r.customers, (long long)r.train_rows, (long long)r.churned, r.auc,
           r.seconds);
    return CLI_OK;
}

const cli_cmd cli_cmd_segment = {
    .name = "segment",
    .summary = "Segment the customers with K-Means (profiles, movement between snapshots).",
    .usage = "clickpulse segment [--k N|auto] [--snapshot DATE[,DATE...]] [--lookback DAYS] "
             "[--seed N]\n"
             "       clickpulse segment --place USER [--snapshot DATE]",
    .details = "Features of every customer as of the snapshot (recency, orders, revenue, average\n"
               "order value, sessions, pages per session, product views, cart adds, cart\n"
               "abandonment, tenure), log-scaled and standardised; K-Means with k-means++ seeding\n"
               "and restarts. Writes customer_segments, cluster_profiles (with labels),\n"
               "cluster_transitions from the previous snapshot, the model (ml_models,\n"
               "ml_model_values) and a row of ml_runs; running a snapshot again replaces it.",
    .opts = segment_opts,
    .run = segment_run,
};

const cli_cmd cli_cmd_churn = {
    .name = "churn",
    .summary = "Score every customer's churn risk with logistic regression.",
    .usage = "clickpulse churn [--snapshot DATE] [--days N]",
    .details = "Learns from the customers as of N days before the snapshot, labelled by whether\n"
               "they were active in the N days since; records the held-out AUC in ml_runs and\n"
               "writes churn_scores (probability of no activity in the next N days) as of the\n"
               "snapshot.",
    .opts = churn_opts,
    .run = churn_run,
};

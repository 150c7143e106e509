/* clickpulse jobs list|run NAME|history [NAME]: the job scheduler's built-in jobs.
 * With the daemon running, 'run' asks it (the job starts there); otherwise the job
 * runs here, on the data directory, with its retries and timeout. */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/jobs.h"
#include "clickpulse/pipeline.h"

#include <stdio.h>
#include <string.h>

static int history(const cli_cmd *cmd, const cp_config *cfg, const char *name)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT job, strftime(started_at, '%%Y-%%m-%%d %%H:%%M:%%S') AS started, "
             "round(epoch(ended_at - started_at), 3) AS seconds, status, attempts, rows, error "
             "FROM job_runs %s%s%s ORDER BY started_at DESC LIMIT 50",
             name ? "WHERE job = '" : "", name ? name : "", name ? "'" : "");
    if (name && strchr(name, '\'')) {
        cli_error(cmd->name, "no job is named %s", name);
        return CLI_USAGE;
    }
    int handled = 0, rc = cli_query_daemon(cfg, sql, "table", 0, -1, &handled);
    if (handled) return rc;
    char path[4096], err[1024];
    snprintf(path, sizeof(path), "%s/clickpulse.duckdb", cfg->data_dir);
    cp_store *s;
    if (cp_store_open(path, true, &s, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    rc = cp_store_query(s, sql, CP_QUERY_TABLE, 0, stdout, err, sizeof(err));
    if (rc) cli_error(cmd->name, "%s", strstr(err, "job_runs") ? "no job has run yet" : err);
    cp_store_close(s);
    return rc ? CLI_FAILURE : CLI_OK;
}

static int run_here(const cli_cmd *cmd, cp_config *cfg, const char *name)
{
    char err[1024];
    cp_pipeline *p;
    if (cp_pipeline_open(cfg, &p, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    pthread_mutex_t mu;
    pthread_mutex_init(&mu, NULL);
    cli_jobs_ctx c = {.cfg = cfg, .pipeline = p, .lock = &mu};
    cp_scheduler *s;
    int rc = cli_jobs_setup(&c, false, &s, err, sizeof(err));
    if (rc == CP_OK) {
        int64_t t0 = cp_mono_ns();
        rc = cp_scheduler_run(s, name, true, err, sizeof(err));
        double secs = (double)(cp_mono_ns() - t0) / 1e9;
        if (rc == CP_OK) printf("%s: ok in %.3f s\n", name, secs);
        cp_scheduler_free(s);
    }
    if (rc) cli_error(cmd->name, "%s: %s", name, err);
    pthread_mutex_destroy(&mu);
    cp_pipeline_close(p);
    return rc ? CLI_FAILURE : CLI_OK;
}

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    (void)parsed;
    const char *action = argc ? argv[0] : "";
    if (strcmp(action, "list") == 0 && argc == 1) {
        printf("%-10s %-14s %-10s %-8s %s\n", "job", "schedule", "after", "retries", "timeout");
        const struct {
            const char *name, *schedule, *after;
            long long retries;
        } jobs[] = {{"sessions", cfg->jobs_sessions_schedule, "", 1},
                    {"models", cfg->jobs_models_schedule, "sessions", cfg->jobs_retries},
                    {"tests", cfg->jobs_tests_schedule, "models", 0},
                    {"retention", cfg->jobs_retention_schedule, "", cfg->jobs_retries}};
        for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
            printf("%-10s %-14s %-10s %-8lld %llds\n", jobs[i].name, jobs[i].schedule,
                   jobs[i].after[0] ? jobs[i].after : "-", jobs[i].retries,
                   (long long)(cfg->jobs_timeout_ms / 1000));
        return CLI_OK;
    }
    if (strcmp(action, "history") == 0 && argc <= 2)
        return history(cmd, cfg, argc == 2 ? argv[1] : NULL);
    if (strcmp(action, "run") == 0 && argc == 2) {
        char path[300];
        cp_buf body;
        long status = 0;
        cp_buf_init(&body);
        snprintf(path, sizeof(path), "/api/v1/jobs/%s/run", argv[1]);
        int rc = cli_daemon_post(cfg, path, NULL, &body, &status);
        if (rc == CLI_USAGE) return run_here(cmd, cfg, argv[1]); /* no daemon: here */
        if (rc == CLI_OK && status == 202)
            printf("%s: started by the daemon (see 'clickpulse jobs history %s')\n", argv[1],
                   argv[1]);
        else if (rc == CLI_OK) {
            cli_error(cmd->name, "%.*s",
                      (int)(body.len && body.ptr[body.len - 1] == '\n' ? body.len - 1 : body.len),
                      body.ptr ? body.ptr : "");
            rc = CLI_FAILURE;
        }
        cp_buf_free(&body);
        return rc;
    }
    cli_error(cmd->name, "expects: list, run NAME, or history [NAME]");
    return CLI_USAGE;
}

const cli_cmd cli_cmd_jobs = {
    .name = "jobs",
    .summary = "List, run and look back at the scheduled jobs.",
    .usage = "clickpulse jobs list | run NAME | history [NAME]",
    .details = "Built-in jobs: sessions (silver's sessions, customers and identity map), models\n"
               "(the gold layer, after sessions), tests (the models' data tests, after models)\n"
               "and retention (the bronze log's). Schedules, retries, backoff and timeouts are\n"
               "the jobs.* keys. With the daemon running, 'run' starts the job there.",
    .run = run,
};

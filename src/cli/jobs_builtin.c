/* The built-in jobs, for the daemon and for 'clickpulse jobs': sessions (silver's
 * derived tables), models (the gold layer, after sessions), tests (the models' data
 * tests, after models), retention (the bronze log's), segments and churn (the ML
 * snapshots, after sessions), and export (Parquet, after models). */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/ml.h"
#include "clickpulse/models.h"
#include "clickpulse/sinks.h"

#include <stdio.h>
#include <string.h>

static int sessions_job(void *ud, cp_store *session, int64_t *rows, char *err, size_t errlen)
{
    cli_jobs_ctx *c = ud;
    (void)session, (void)rows;
    /* without the sources' lock: they go on taking events while it runs */
    return cp_pipeline_refresh_derived(c->pipeline, err, errlen);
}

static int retention_job(void *ud, cp_store *session, int64_t *rows, char *err, size_t errlen)
{
    cli_jobs_ctx *c = ud;
    (void)session;
    cp_pipeline_sync(c->pipeline); /* the backlog first, sources going on; again below */
    pthread_mutex_lock(c->lock);
    int64_t now = cp_now_ms(), silver = 0;
    int n = cp_pipeline_retain(c->pipeline, now);
    int rc = n < 0 ? n : cp_pipeline_retain_silver(c->pipeline, now, &silver);
    pthread_mutex_unlock(c->lock);
    if (n < 0) {
        snprintf(err, errlen, "retention: %s", cp_strerror(n));
        return n;
    }
    if (rc) {
        snprintf(err, errlen, "%s", cp_pipeline_error(c->pipeline));
        return rc;
    }
    *rows = n + silver; /* segments removed and silver rows deleted */
    return CP_OK;
}

static int load_models(const cli_jobs_ctx *c, cp_models **out, char *err, size_t errlen)
{
    cp_models *m = cp_models_new();
    if (!m) return CP_ENOMEM;
    int rc = cp_models_add_builtin(m, err, errlen);
    if (rc == CP_OK && c->cfg->models_dir[0])
        rc = cp_models_add_dir(m, c->cfg->models_dir, err, errlen);
    if (rc == CP_OK) rc = cp_models_resolve(m, err, errlen);
    if (rc)
        cp_models_free(m);
    else
        *out = m;
    return rc;
}

typedef struct tally {
    int64_t ok;
    char *err;
    size_t errlen;
    const char *job;
} tally;

/* Counts a model's (or a test's) result and logs it: what was built and how. */
static void count_result(void *ud, const cp_model_result *r)
{
    tally *t = ud;
    if (r->ok) {
        t->ok++;
        CP_INFO(t->job, "%s %s: %lld rows in %.3f s", r->what, r->name, (long long)r->rows,
                r->seconds);
    } else {
        CP_WARN(t->job, "%s %s failed: %s", r->what, r->name, r->error ? r->error : "");
        if (!t->err[0])
            snprintf(t->err, t->errlen, "%s: %s", r->name, r->error ? r->error : r->what);
    }
}

static int models_job(void *ud, cp_store *session, int64_t *rows, char *err, size_t errlen)
{
    cp_models *m;
    int rc = load_models(ud, &m, err, errlen);
    if (rc) return rc;
    tally t = {0, err, errlen, "job:models"};
    err[0] = 0;
    rc = cp_models_run(m, session, NULL, false, count_result, &t);
    *rows = t.ok;
    cp_models_free(m);
    return rc;
}

static int tests_job(void *ud, cp_store *session, int64_t *rows, char *err, size_t errlen)
{
    cp_models *m;
    int rc = load_models(ud, &m, err, errlen);
    if (rc) return rc;
    tally t = {0, err, errlen, "job:tests"};
    err[0] = 0;
    rc = cp_models_test(m, session, NULL, count_result, &t);
    *rows = t.ok;
    cp_models_free(m);
    return rc;
}

/* segments and churn: the ML runs on the job's own connection, as of the latest day. */
static int ml_job(void *ud, cp_store *session, int64_t *rows, char *err, size_t errlen, int churn)
{
    cli_jobs_ctx *c = ud;
    cp_ml_options o;
    cp_ml_report r;
    int rc = cli_ml_options(c->cfg, &o, err, errlen);
    if (rc) return rc;
    rc = churn ? cp_ml_churn(session, &o, &r, err, errlen)
               : cp_ml_segment(session, &o, &r, err, errlen);
    *rows = r.customers;
    return rc;
}

static int segments_job(void *ud, cp_store *session, int64_t *rows, char *err, size_t errlen)
{
    return ml_job(ud, session, rows, err, errlen, 0);
}

static int churn_job(void *ud, cp_store *session, int64_t *rows, char *err, size_t errlen)
{
    return ml_job(ud, session, rows, err, errlen, 1);
}

/* export: silver and gold to Parquet (after models). */
static int export_job(void *ud, cp_store *session, int64_t *rows, char *err, size_t errlen)
{
    cli_jobs_ctx *c = ud;
    char dir[4096];
    cli_export_dir(c->cfg, dir, sizeof(dir));
    cp_export_report r;
    int rc = cp_export_parquet(session, dir, false, &r, err, errlen);
    *rows = r.files;
    return rc;
}

int cli_jobs_setup(cli_jobs_ctx *c, bool scheduled, cp_scheduler **out, char *err, size_t errlen)
{
    const cp_config *cfg = c->cfg;
    cp_scheduler *s;
    int rc = cp_scheduler_new(cp_pipeline_store(c->pipeline), (int)cfg->jobs_max_concurrent, &s,
                              err, errlen);
    if (rc) return rc;
    const cp_job_def defs[] = {
        {"sessions", cfg->jobs_sessions_schedule, "", 1, cfg->jobs_backoff_ms, cfg->jobs_timeout_ms,
         sessions_job, c},
        {"models", cfg->jobs_models_schedule, "sessions", (int)cfg->jobs_retries,
         cfg->jobs_backoff_ms, cfg->jobs_timeout_ms, models_job, c},
        {"tests", cfg->jobs_tests_schedule, "models", 0, cfg->jobs_backoff_ms, cfg->jobs_timeout_ms,
         tests_job, c},
        {"retention", cfg->jobs_retention_schedule, "", (int)cfg->jobs_retries,
         cfg->jobs_backoff_ms, cfg->jobs_timeout_ms, retention_job, c},
        {"segments", cfg->jobs_segments_schedule, "sessions", (int)cfg->jobs_retries,
         cfg->jobs_backoff_ms, cfg->jobs_timeout_ms, segments_job, c},
        {"churn", cfg->jobs_churn_schedule, "sessions", (int)cfg->jobs_retries,
         cfg->jobs_backoff_ms, cfg->jobs_timeout_ms, churn_job, c},
        {"export", cfg->jobs_export_schedule, "models", (int)cfg->jobs_retries,
         cfg->jobs_backoff_ms, cfg->jobs_timeout_ms, export_job, c},
    };
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]) && rc == CP_OK; i++) {
        cp_job_def d = defs[i];
        if (!scheduled) d.schedule = "";
        rc = cp_scheduler_add(s, &d, err, errlen);
    }
    if (rc == CP_OK) rc = cp_scheduler_start(s, err, errlen);
    if (rc)
        cp_scheduler_free(s);
    else
        *out = s;
    return rc;
}

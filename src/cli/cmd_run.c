/* clickpulse run: the daemon. Opens the pipeline, serves the API, follows the
 * configured files and, with simulator.rate > 0, runs the simulated shop into
 * the pipeline; every minute refreshes sessions and applies the log's retention;
 * stops cleanly on SIGINT or SIGTERM. */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/http.h"
#include "clickpulse/kafka.h"
#include "clickpulse/log.h"
#include "clickpulse/pipeline.h"
#include "clickpulse/simulate.h"
#include "clickpulse/sinks.h"
#include "clickpulse/sources.h"
#include "clickpulse/time.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 32

typedef struct daemon_state {
    cp_config *cfg;
    cp_pipeline *p;
    cp_kafka_source *kafka;       /* when kafka.brokers is set */
    cp_sink *sinks[CP_SINKS_MAX]; /* the configured sinks (sinks.*) */
    size_t n_sinks;
    cp_scheduler *jobs;              /* the built-in jobs */
    cp_collector *_Atomic collector; /* for the API's /api/v1/metrics once it runs */
    pthread_mutex_t mu;              /* one writer of the pipeline at a time */
    char error[1024];                /* the last failure, for /health */
    int64_t started_ms;
    size_t memory_bound; /* what the settings allow the process (memory_bound) */
} daemon_state;

/* The program, its libraries and threads, DuckDB's catalog: what an idle daemon holds
 * beside the bounded parts (about 60 MB measured), with room. */
#define BASE_MEMORY ((size_t)128 << 20)

/* The sum of the bounded parts of the process's memory (docs/security.md, Memory). */
static size_t memory_bound(const cp_config *c)
{
    return BASE_MEMORY + (size_t)c->store_memory_limit + cp_pipeline_memory(c) +
           cp_collector_memory(c) + cp_api_memory(c);
}

/* The resident memory now, from /proc/self/statm; 0 when unknown. */
static size_t resident_bytes(void)
{
    unsigned long size, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int catch_up(void *ud, int timeout_ms)
{
    daemon_state *d = ud;
    return cp_pipeline_catch_up(d->p, timeout_ms);
}

/* The API's /health: "failing" (503) when events cannot be taken, "degraded" (200) when
 * a sink cannot deliver (ingestion goes on), else "ok"; each sink's state. */
static int health(void *ud, cp_buf *out)
{
    daemon_state *d = ud;
    char reason[1100] = {0};
    cp_pipeline_healthy(d->p, reason, sizeof(reason));
    pthread_mutex_lock(&d->mu);
    const cp_pipeline_stats *s = cp_pipeline_stats_get(d->p);
    if (!reason[0] && d->error[0]) snprintf(reason, sizeof(reason), "%s", d->error);
    int bad = reason[0] != 0, sinks_down = 0;
    char why[d->n_sinks ? d->n_sinks : 1][512];
    for (size_t i = 0; i < d->n_sinks; i++) {
        if (cp_sink_up(d->sinks[i], why[i], 512)) {
            why[i][0] = 0;
            continue;
        }
        if (!why[i][0]) snprintf(why[i], 512, "not delivering");
        sinks_down++;
    }
    cp_buf_appendf(out,
                   "{\"status\":\"%s\",\"accepted\":%llu,\"duplicates\":%llu,\"batches\":%llu,"
                   "\"uptime_s\":%lld",
                   bad          ? "failing"
                   : sinks_down ? "degraded"
                                : "ok",
                   (unsigned long long)s->accepted, (unsigned long long)s->duplicates,
                   (unsigned long long)s->batches,
                   (long long)((cp_now_ms() - d->started_ms) / 1000));
    if (bad) {
        cp_buf_append_str(out, ",\"reason\":");
        cp_buf_append_json_str(out, reason, strlen(reason));
    }
    if (d->n_sinks) cp_buf_append_str(out, ",\"sinks\":{");
    for (size_t i = 0; i < d->n_sinks; i++) {
        const char *name = cp_sink_name(d->sinks[i]);
        int up = !why[i][0];
        cp_buf_appendf(out, "%s", i ? "," : "");
        cp_buf_append_json_str(out, name, strlen(name));
        cp_buf_appendf(out, ":{\"up\":%s", up ? "true" : "false");
        if (!up) {
            cp_buf_append_str(out, ",\"reason\":");
            cp_buf_append_json_str(out, why[i], strlen(why[i]));
        }
        cp_buf_append_str(out, "}");
    }
    cp_buf_append_str(out, d->n_sinks ? "}}\n" : "}\n");
    pthread_mutex_unlock(&d->mu);
    return bad ? 503 : 200;
}

typedef struct file_job {
    daemon_state *d;
    const char *path;
    pthread_t thread;
} file_job;

static void *follow_file(void *arg)
{
    file_job *j = arg;
    char err[1024] = {0};
    cp_file_options o = {.path = j->path, .follow = true, .stop = &stop_flag, .lock = &j->d->mu};
    cp_file_result res;
    if (cp_source_file(j->d->p, j->d->cfg, &o, &res, err, sizeof(err)) && !stop_flag) {
        CP_ERROR("source:file", "%s", err);
        pthread_mutex_lock(&j->d->mu);
        snprintf(j->d->error, sizeof(j->d->error), "%s", err);
        pthread_mutex_unlock(&j->d->mu);
    }
    return NULL;
}

/* The simulator's events, decoded and submitted as they are produced. */
typedef struct sim_feed {
    daemon_state *d;
    cp_event_decoder *dec;
    uint64_t pos;
    char at[32];
} sim_feed;

static int sim_event(void *ud, const cp_event *ev)
{
    sim_feed *f = ud;
    int n = snprintf(f->at, sizeof(f->at), "%llu.%u", (unsigned long long)ev->pos, ev->index);
    return cp_pipeline_submit(f->d->p, ev, CP_SLICE_LIT("simulator"), (cp_slice){f->at, (size_t)n});
}

static int sim_reject(void *ud, const cp_reject *r)
{
    sim_feed *f = ud;
    int n = snprintf(f->at, sizeof(f->at), "%llu.%u", (unsigned long long)r->pos, r->index);
    return cp_pipeline_reject(f->d->p, r, CP_SLICE_LIT("simulator"), (cp_slice){f->at, (size_t)n},
                              0);
}

static int sim_output(void *ud, const char *buf, size_t len, size_t n_events)
{
    sim_feed *f = ud;
    (void)n_events;
    if (stop_flag) return CP_EAGAIN;
    pthread_mutex_lock(&f->d->mu);
    int rc = cp_event_decoder_feed(f->dec, buf, len);
    if (rc == CP_OK) rc = cp_pipeline_flush(f->d->p, NULL, 0);
    pthread_mutex_unlock(&f->d->mu);
    return rc;
}

static void *simulate(void *arg)
{
    sim_feed *f = arg;
    cp_sim_params p;
    cp_sim_params_from_config(f->d->cfg, &p);
    cp_sim_output out = {.ud = f, .events = sim_output};
    cp_sim_stats st;
    int rc = cp_simulate(&p, &out, &st);
    if (rc && !stop_flag)
        CP_ERROR("source:simulator", "stopped: %s", cp_strerror(rc));
    else if (!rc)
        CP_INFO("source:simulator", "finished: %llu events", (unsigned long long)st.events);
    return NULL;
}

static void *consume_kafka(void *arg)
{
    daemon_state *d = arg;
    if (cp_kafka_source_run(d->kafka) && !stop_flag) {
        pthread_mutex_lock(&d->mu);
        snprintf(d->error, sizeof(d->error), "the Kafka source stopped: %s",
                 cp_pipeline_error(d->p));
        pthread_mutex_unlock(&d->mu);
    }
    return NULL;
}

static void daemon_metrics(void *ud, cp_buf *out)
{
    daemon_state *d = ud;
    cp_buf_appendf(out,
                   "# HELP clickpulse_memory_bound_bytes The most memory the settings allow the "
                   "process (docs/security.md).\n"
                   "# TYPE clickpulse_memory_bound_bytes gauge\n"
                   "clickpulse_memory_bound_bytes %zu\n"
                   "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                   "# TYPE process_resident_memory_bytes gauge\n"
                   "process_resident_memory_bytes %zu\n",
                   d->memory_bound, resident_bytes());
    if (d->kafka) cp_kafka_source_metrics(d->kafka, out);
    cp_sink_metrics(d->sinks, d->n_sinks, out);
}

static void api_metrics(void *ud, cp_buf *out)
{
    daemon_state *d = ud;
    cp_collector *k = d->collector;
    if (k) cp_collector_metrics(k, out);
}

static int api_forget(void *ud, const char *user_id, cp_buf *out)
{
    daemon_state *d = ud;
    cp_forget_stats st;
    char err[1024];
    cp_pipeline_sync(d->p); /* silver's backlog first, with the sources going on */
    pthread_mutex_lock(&d->mu);
    int rc = cp_pipeline_forget(d->p, user_id, &st, err, sizeof(err));
    pthread_mutex_unlock(&d->mu);
    if (rc) {
        cp_buf_append_str(out, "{\"error\":");
        cp_buf_append_json_str(out, err, strlen(err));
        cp_buf_append_str(out, "}\n");
        return rc == CP_EINVAL ? 400 : 500;
    }
    cli_forget_json(&st, out);
    return 200;
}

static int write_pid(const cp_config *cfg, int remove)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/clickpulse.pid", cfg->data_dir);
    if (remove) return unlink(path);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "%ld\n%s\n", (long)getpid(), cfg->dashboard_listen);
    return fclose(f);
}

static void housekeeping(daemon_state *d)
{
    pthread_mutex_lock(&d->mu);
    if (cp_pipeline_refresh_sessions(d->p))
        CP_ERROR("pipeline", "refreshing sessions: %s", cp_pipeline_error(d->p));
    if (cp_pipeline_retain(d->p, cp_now_ms()) < 0) CP_ERROR("log", "retention failed");
    int64_t rows;
    if (cp_pipeline_retain_silver(d->p, cp_now_ms(), &rows))
        CP_ERROR("pipeline", "%s", cp_pipeline_error(d->p));
    pthread_mutex_unlock(&d->mu);
}

static int serve(daemon_state *d)
{
    file_job jobs[MAX_FILES];
    size_t n_jobs = 0;
    pthread_t sim;
    int sim_on = d->cfg->simulator_rate > 0;
    sim_feed feed = {.d = d};
    for (size_t i = 0; i < d->cfg->sources_files.n && n_jobs < MAX_FILES; i++) {
        jobs[n_jobs] = (file_job){.d = d, .path = d->cfg->sources_files.items[i]};
        if (pthread_create(&jobs[n_jobs].thread, NULL, follow_file, &jobs[n_jobs]) == 0) n_jobs++;
    }
    if (sim_on) {
        cp_decode_options o;
        cp_decode_options_default(&o);
        o.trust_received_at = true;
        feed.dec = cp_event_decoder_new(&o, (cp_decode_sink){&feed, sim_event, sim_reject});
        sim_on = feed.dec && pthread_create(&sim, NULL, simulate, &feed) == 0;
    }
    pthread_t kafka;
    int kafka_on = d->kafka && pthread_create(&kafka, NULL, consume_kafka, d) == 0;
    for (size_t i = 0; i < d->n_sinks; i++)
        if (cp_sink_start(d->sinks[i]))
            CP_ERROR("sink", "%s: cannot start", cp_sink_name(d->sinks[i]));
    while (!stop_flag) { /* the scheduler's jobs keep sessions, models and retention going */
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    CP_INFO("run", "stopping");
    for (size_t i = 0; i < n_jobs; i++) pthread_join(jobs[i].thread, NULL);
    if (sim_on) pthread_join(sim, NULL);
    if (kafka_on) pthread_join(kafka, NULL);
    cp_event_decoder_free(feed.dec);
    housekeeping(d); /* silver and its sessions whole before the sinks' last delivery */
    for (size_t i = 0; i < d->n_sinks; i++) cp_sink_stop(d->sinks[i]);
    return CLI_OK;
}

/* The dashboard and API, with the token made when none is configured. */
static int start_api(daemon_state *d, cp_api **api, char *err, size_t errlen)
{
    const cp_config *cfg = d->cfg;
    char token[256], sessions[4096], exports[4096];
    if (cli_dashboard_token(cfg, true, token, sizeof(token), err, errlen)) return CLI_FAILURE;
    /* SQL from the API reads no files: only the exports, the user's models and the lake may
     * be touched */
    cli_export_dir(cfg, exports, sizeof(exports));
    const char *dirs[3] = {exports};
    size_t n_dirs = 1;
    if (cfg->models_dir[0]) dirs[n_dirs++] = cfg->models_dir;
    if (cfg->lake_dir[0]) dirs[n_dirs++] = cfg->lake_dir;
    if (cp_store_restrict_files(cp_pipeline_store(d->p), dirs, n_dirs, err, errlen))
        return CLI_FAILURE;
    snprintf(sessions, sizeof(sessions), "%s/dashboard.sessions", cfg->data_dir);
    cp_api_config ac = {.listen = cfg->dashboard_listen,
                        .sessions_path = sessions,
                        .token = token,
                        .users = &cfg->dashboard_users,
                        .session_ttl_ms = cfg->dashboard_session_ttl,
                        .secure_cookies = cfg->dashboard_secure_cookies,
                        .query_timeout_ms = (int)cfg->dashboard_query_timeout,
                        .query_max_rows = cfg->dashboard_query_max_rows,
                        .query_max_bytes = (size_t)cfg->dashboard_query_max_bytes,
                        .max_connections = (size_t)cfg->dashboard_max_connections,
                        .max_connections_per_address =
                            (size_t)cfg->dashboard_max_connections_per_address,
                        .request_timeout_ms = (int)cfg->dashboard_request_timeout,
                        .login_failures_per_minute = (int)cfg->dashboard_login_failures,
                        .metrics = api_metrics,
                        .forget = api_forget,
                        .store = cp_pipeline_store(d->p),
                        .ud = d,
                        .health = health,
                        .catch_up = catch_up,
                        .live = cp_pipeline_live(d->p),
                        .jobs = d->jobs};
    return cp_api_start(&ac, api, err, errlen) ? CLI_FAILURE : CLI_OK;
}

static int start_collector(daemon_state *d, cp_collector **out, char *err, size_t errlen)
{
    const cp_config *cfg = d->cfg;
    cp_collector_config cc = {.listen = cfg->collector_listen,
                              .write_keys = &cfg->collector_write_keys,
                              .cors_origins = &cfg->collector_cors_origins,
                              .trusted_proxies = &cfg->collector_trusted_proxies,
                              .anonymize_ip = cfg->collector_anonymize_ip,
                              .max_request_bytes = (size_t)cfg->collector_max_request_bytes,
                              .max_event_bytes = (size_t)cfg->collector_max_event_bytes,
                              .max_batch_events = (size_t)cfg->collector_max_batch_events,
                              .max_backlog_events = (size_t)cfg->collector_max_backlog,
                              .poll_connections = (size_t)cfg->collector_poll_connections,
                              .max_connections = (size_t)cfg->collector_max_connections,
                              .max_connections_per_address =
                                  (size_t)cfg->collector_max_connections_per_address,
                              .request_timeout_ms = (int)cfg->collector_request_timeout,
                              .pipeline = d->p,
                              .lock = &d->mu,
                              .more_metrics = daemon_metrics,
                              .more_metrics_ud = d};
    return cp_collector_start(&cc, out, err, errlen);
}

static int run(const cli_cmd *cmd, cp_config *cfg, int argc, char **argv, void *parsed)
{
    char err[1024] = {0};
    daemon_state d = {.cfg = cfg, .started_ms = cp_now_ms(), .memory_bound = memory_bound(cfg)};
    if (argc) {
        cli_error(cmd->name, "takes no arguments (sources come from the configuration)");
        return CLI_USAGE;
    }
    struct stat st; /* a data directory made by an older version: its user's alone too */
    if (stat(cfg->data_dir, &st) == 0 && (st.st_mode & 077) && chmod(cfg->data_dir, 0700) == 0)
        CP_INFO("run", "%s was open to other users: now 0700", cfg->data_dir);
    if (cp_pipeline_open(cfg, &d.p, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        return CLI_FAILURE;
    }
    pthread_mutex_init(&d.mu, NULL);
    cp_api *api = NULL;
    cp_collector *collector = NULL;
    cli_jobs_ctx jc = {.cfg = cfg, .pipeline = d.p, .lock = &d.mu};
    int jrc = cli_jobs_setup(&jc, true, &d.jobs, err, sizeof(err));
    if (jrc) {
        cli_error(cmd->name, "jobs: %s", err);
        cp_pipeline_close(d.p);
        pthread_mutex_destroy(&d.mu);
        return CLI_FAILURE;
    }
    int rc = start_api(&d, &api, err, sizeof(err));
    if (rc) cli_error(cmd->name, "%s", err);
    cp_kafka_options ko = {
        .stop = &stop_flag, .lock = &d.mu, .max_backlog = (size_t)cfg->collector_max_backlog};
    if (rc == CLI_OK && cfg->kafka_brokers[0] &&
        cp_kafka_source_new(d.p, cfg, &ko, &d.kafka, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        rc = CLI_FAILURE;
    }
    if (rc == CLI_OK &&
        cp_sinks_from_config(cp_pipeline_store(d.p), cfg, d.sinks, &d.n_sinks, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        rc = CLI_FAILURE;
    }
    /* the CLI finds the API by the pid file: written before the collector answers, so whoever
     * sees the collector up reaches the API rather than the locked database */
    int pid_written = rc == CLI_OK && write_pid(cfg, 0) == 0;
    if (rc == CLI_OK && start_collector(&d, &collector, err, sizeof(err))) {
        cli_error(cmd->name, "%s", err);
        rc = CLI_FAILURE;
    }
    d.collector = collector;
    if (rc == CLI_OK && cfg->collector_write_keys.n == 0)
        CP_WARN("collector", "no write keys configured (collector.write_keys): every request "
                             "gets 401");
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (rc == CLI_OK) {
        CP_INFO("run", "collector on http://%s, API on http://%s (data in %s)",
                cfg->collector_listen, cfg->dashboard_listen, cfg->data_dir);
        CP_INFO("run", "memory: at most %zu MB with these settings (docs/security.md)",
                d.memory_bound >> 20);
        rc = serve(&d);
    }
    if (pid_written) write_pid(cfg, 1);
    cp_api_stop(api);
    d.collector = NULL;
    cp_collector_stop(collector);
    cp_scheduler_free(d.jobs); /* interrupts what still runs */
    cp_kafka_source_free(d.kafka);
    for (size_t i = 0; i < d.n_sinks; i++) cp_sink_free(d.sinks[i]);
    cp_pipeline_close(d.p);
    pthread_mutex_destroy(&d.mu);
    return rc;
}

const cli_cmd cli_cmd_run = {
    .name = "run",
    .summary = "Run the daemon: the configured sources, the pipeline and the API.",
    .usage = "clickpulse run [--config FILE] [--set KEY=VALUE]...",
    .details = "Sources: the collector on collector.listen, the files in sources.files\n"
               "(followed as they grow), the Kafka topics in kafka.topics when kafka.brokers is\n"
               "set (group kafka.group), and, when simulator.rate > 0, the simulated shop. The\n"
               "dashboard and API listen on dashboard.listen; 'clickpulse query' goes through it\n"
               "while the daemon runs. SIGINT or SIGTERM stops it cleanly after the current batch.",
    .run = run,
};

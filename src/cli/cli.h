/* Private to the CLI: commands, option tables and configuration loading.
 * The CLI is the only place that calls exit(); commands return exit codes. */
#ifndef CP_CLI_H
#define CP_CLI_H

#include "clickpulse/config.h"
#include "clickpulse/jobs.h"
#include "clickpulse/pipeline.h"
#include "clickpulse/time.h"

#include <pthread.h>
#include <stdbool.h>

enum { CLI_OK = 0, CLI_FAILURE = 1, CLI_USAGE = 2 };

typedef struct cli_opt {
    const char *name;    /* long name without "--" */
    const char *key;     /* configuration key it sets, or NULL for a command's own option */
    const char *metavar; /* NULL: a flag without a value */
    const char *help;
    int id; /* passed to the command's handler when key is NULL */
} cli_opt;

typedef struct cli_cmd {
    const char *name;
    const char *summary;
    const char *usage;   /* "clickpulse simulate [options]" */
    const char *details; /* paragraph after the usage line, or NULL */
    const cli_opt *opts; /* terminated by {0} */
    int (*run)(struct cli_cmd const *cmd, cp_config *cfg, int argc, char **argv, void *parsed);
} cli_cmd;

/* What cli_parse found besides configuration. */
typedef struct cli_args {
    char **positional;
    int n_positional;
    const char *flags[32]; /* value of each own option by id ("" for flags), or NULL */
} cli_args;

/* Parses argv (after the command name): options of cmd, plus the common --config FILE,
 * --set KEY=VALUE and --help. Loads the configuration (defaults, file, environment,
 * then option keys and --set in the order given). Returns CLI_OK, CLI_USAGE (message
 * printed), or -1 when --help was printed. */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cp_config *cfg, cli_args *args);
void cli_print_help(const cli_cmd *cmd, FILE *out);
/* Prints "clickpulse <cmd>: message" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Simulated traffic to a collector (http_sender.c). */
typedef struct http_sender http_sender;
int http_sender_open(http_sender **out, const char *base, const char *write_key);
/* Prints what was sent and answered to report (NULL: nothing), then frees. */
void http_sender_close(http_sender *s, FILE *report);
/* A cp_sim_output events callback: POSTs each batch line. */
int http_sender_send(void *ud, const char *buf, size_t len, size_t n_events);

/* POSTs to the running daemon's API (path from /api/v1/…); CLI_USAGE when none runs. */
/* The dashboard token: dashboard.token, else the one kept in <data_dir>/dashboard.token;
 * with create, and no dashboard.users either, a new random one is made and kept there
 * (mode 0600). Writes "" when there is none. Returns 0, or -1 with a message in err. */
int cli_dashboard_token(const cp_config *cfg, bool create, char *out, size_t cap, char *err,
                        size_t errlen);
/* POSTs form (may be NULL) to the running daemon's path; CLI_USAGE when no daemon runs. */
int cli_daemon_post(const cp_config *cfg, const char *path, const char *form, cp_buf *body,
                    long *status);
/* What a person's erasure removed, as the JSON object the API answers. */
struct cp_forget_stats;
void cli_forget_json(const struct cp_forget_stats *st, cp_buf *out);
/* Runs sql through the running daemon's API (*handled = 1), waiting up to wait_ms for
 * silver to catch up (-1: the daemon's default); *handled = 0 when no daemon runs. */
int cli_query_daemon(const cp_config *cfg, const char *sql, const char *format, long max_rows,
                     long wait_ms, int *handled);

/* The built-in jobs (jobs_builtin.c) on a pipeline whose uses are serialised by lock. */
typedef struct cli_jobs_ctx {
    const cp_config *cfg;
    cp_pipeline *pipeline;
    pthread_mutex_t *lock;
} cli_jobs_ctx;
/* A scheduler with the built-in jobs, started; without scheduled, only run by hand. */
int cli_jobs_setup(cli_jobs_ctx *c, bool scheduled, cp_scheduler **out, char *err, size_t errlen);

/* Simulated traffic to a Kafka topic, one event a message keyed by identity (kafka_sender.c). */
typedef struct kafka_sender kafka_sender;
int kafka_sender_open(kafka_sender **out, const char *brokers, const char *topic,
                      const cp_strlist *props);
/* A cp_sim_output events callback: ud is the sender. */
int kafka_sender_send(void *ud, const char *buf, size_t len, size_t n_events);
/* Waits for every message to be delivered; reports to report unless NULL. */
int kafka_sender_close(kafka_sender *s, FILE *report);

extern const cli_cmd cli_cmd_simulate;
extern const cli_cmd cli_cmd_config;
extern const cli_cmd cli_cmd_version;
extern const cli_cmd cli_cmd_passwd;
extern const cli_cmd cli_cmd_ingest;
extern const cli_cmd cli_cmd_replay;
extern const cli_cmd cli_cmd_forget;
extern const cli_cmd cli_cmd_query;
extern const cli_cmd cli_cmd_run;
extern const cli_cmd cli_cmd_kafka_mock;
extern const cli_cmd cli_cmd_segment;
extern const cli_cmd cli_cmd_churn;
extern const cli_cmd cli_cmd_export;
extern const cli_cmd cli_cmd_sinks;
/* The Parquet export directory: exports.dir, or <data_dir>/exports (cmd_export.c). */
void cli_export_dir(const cp_config *cfg, char *out, size_t len);

/* The ML options of the configuration's ml.* keys (cmd_ml.c); CP_EINVAL with a message. */
struct cp_ml_options;
int cli_ml_options(const cp_config *cfg, struct cp_ml_options *o, char *err, size_t errlen);
extern const cli_cmd cli_cmd_models;
extern const cli_cmd cli_cmd_jobs;

#endif

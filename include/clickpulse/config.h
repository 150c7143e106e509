/* Configuration, declared as one table (src/core/config_table.c): key, type,
 * default, the field it fills, help text. The same table validates values,
 * fills struct cp_config, rejects unknown keys with a suggestion, prints the
 * effective configuration and documents the keys.
 *
 * Sources, lowest precedence first: defaults, a YAML file, CLICKPULSE_*
 * environment variables (key upper-cased, '.' → '_': CLICKPULSE_COLLECTOR_LISTEN),
 * and --set key=value. Each value remembers where it came from. */
#ifndef CLICKPULSE_CONFIG_H
#define CLICKPULSE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cp_conf_type {
    CP_CONF_STR,      /* char * (owned, never NULL) */
    CP_CONF_INT,      /* int64_t, within [min, max] */
    CP_CONF_DOUBLE,   /* double, within [min, max] */
    CP_CONF_BOOL,     /* bool: true/false/yes/no/on/off/1/0 */
    CP_CONF_ENUM,     /* int index into choices */
    CP_CONF_DURATION, /* int64_t milliseconds: "500ms", "30s", "5m", "24h", "7d" */
    CP_CONF_SIZE,     /* int64_t bytes: "32KB", "500KB", "128MB", "1GB" (powers of 1024) */
    CP_CONF_DATE,     /* int64_t days since 1970-01-01: "2026-10-01" */
    CP_CONF_LIST,     /* cp_strlist: YAML sequence or comma-separated text */
    CP_CONF_MAP,      /* cp_strlist of "key=value": YAML mapping, sequence of keys, or "k=v,k2" */
} cp_conf_type;

typedef struct cp_strlist {
    char **items;
    size_t n;
} cp_strlist;

typedef enum cp_conf_origin {
    CP_ORIGIN_DEFAULT,
    CP_ORIGIN_FILE,
    CP_ORIGIN_ENV,
    CP_ORIGIN_SET,
} cp_conf_origin;

typedef struct cp_conf_entry {
    const char *key;
    cp_conf_type type;
    const char *def;            /* default, as text (parsed like any other value) */
    size_t offset;              /* offsetof(cp_config, field) */
    const char *const *choices; /* CP_CONF_ENUM: NULL-terminated names */
    double min, max;            /* CP_CONF_INT / DOUBLE bounds (min == max: none) */
    const char *help;
} cp_conf_entry;

typedef struct cp_config {
    char *data_dir;
    int logging_level;  /* cp_log_level */
    int logging_format; /* cp_log_format */
    int log_fsync;      /* 0 batch, 1 interval, 2 off */
    int64_t log_fsync_interval_ms;
    int64_t log_segment_bytes;
    int64_t log_retention_bytes;
    int64_t log_retention_ms;
    int64_t silver_retention_ms;
    int64_t log_compression_level;
    cp_strlist sources_files;
    int64_t store_memory_limit;
    int64_t pipeline_dedup_memory;
    int64_t pipeline_live_memory;
    int64_t pipeline_derived_memory;
    int64_t pipeline_queue_memory;
    int64_t store_threads;
    int64_t background_nice;
    bool background_idle;
    int64_t background_idle_lag_ms;
    int64_t store_min_free;
    int64_t log_min_free;
    char *collector_listen;
    cp_strlist collector_write_keys;
    cp_strlist collector_cors_origins;
    cp_strlist collector_trusted_proxies;
    bool collector_anonymize_ip;
    int64_t collector_max_backlog;
    int64_t collector_poll_connections;
    int64_t collector_max_event_bytes;
    int64_t collector_max_request_bytes;
    int64_t collector_max_batch_events;
    int64_t collector_max_connections, collector_max_connections_per_address;
    int64_t collector_request_timeout;
    char *dashboard_listen;
    char *dashboard_token;
    cp_strlist dashboard_users;
    int64_t dashboard_session_ttl;
    bool dashboard_secure_cookies;
    int64_t dashboard_query_timeout;
    int64_t dashboard_query_max_rows;
    int64_t dashboard_query_max_bytes;
    int64_t dashboard_max_connections, dashboard_max_connections_per_address;
    int64_t dashboard_request_timeout;
    int64_t dashboard_login_failures;
    char *kafka_brokers;
    cp_strlist kafka_topics;
    char *kafka_group;
    cp_strlist kafka_properties;
    char *sinks_kafka_brokers, *sinks_kafka_events_topic, *sinks_kafka_minutes_topic;
    int64_t pipeline_dedup_window_ms;
    int64_t pipeline_session_timeout_ms;
    int64_t pipeline_allowed_lateness_ms;
    int64_t pipeline_queue_events;
    char *sinks_postgres_dsn, *sinks_postgres_schema;
    cp_strlist sinks_postgres_tables;
    char *sinks_clickhouse_url, *sinks_clickhouse_database;
    cp_strlist sinks_clickhouse_tables;
    char *sinks_influx_url, *sinks_influx_measurement;
    int64_t sinks_batch_rows, sinks_poll_ms, sinks_retry_min_ms, sinks_retry_max_ms;
    int64_t sinks_replace_interval_ms, sinks_drain_timeout_ms;
    char *currency_reporting;
    char *currency_rates;
    char *exports_dir;
    char *lake_dir, *lake_instance;
    int64_t lake_interval_ms;
    char *models_dir;
    int64_t jobs_max_concurrent, jobs_retries, jobs_backoff_ms, jobs_timeout_ms;
    char *jobs_sessions_schedule, *jobs_models_schedule, *jobs_tests_schedule,
        *jobs_retention_schedule, *jobs_segments_schedule, *jobs_churn_schedule,
        *jobs_export_schedule;
    char *ml_k;
    int64_t ml_k_max, ml_restarts, ml_seed, ml_lookback_days, ml_churn_days;
    double ml_l2;
    double simulator_shift_rate;
    int simulator_shift_from, simulator_shift_to;
    int64_t simulator_shift_day;
    double simulator_rate;
    int64_t simulator_customers;
    int64_t simulator_days;
    int64_t simulator_start;
    int64_t simulator_seed;
    int64_t simulator_products;
    int simulator_format; /* 0 jsonl, 1 batch */
    int64_t simulator_batch_size;
    double simulator_duplicate_rate;
    double simulator_late_rate;
    double simulator_skew_rate;
    double simulator_malformed_rate;
    double simulator_bot_rate;
    double simulator_signup_rate;
    int64_t simulator_utc_offset;
    double simulator_large_properties;
    int simulator_profile; /* cp_sim_profile: 0 standard, 1 messy */

    /* Where each value came from, indexed like the table; detail is "file:line" or the variable. */
    cp_conf_origin *origins;
    char **origin_details;
} cp_config;

/* The table and its length. */
const cp_conf_entry *cp_config_table(size_t *n);
/* Finds an entry by key; NULL when unknown. */
const cp_conf_entry *cp_config_find(const char *key);
/* The known key nearest to an unknown one (edit distance), or NULL when none is close. */
const char *cp_config_suggest(const char *key);

/* Fills c with every default. Returns 0 or CP_ENOMEM (c is then freed). */
int cp_config_init(cp_config *c);
/* Frees everything c owns. */
void cp_config_free(cp_config *c);

/* Sets one key from text. origin/detail say where it came from. On error returns
 * CP_EUNKNOWN (unknown key), CP_EINVAL (bad value) or CP_ENOMEM and writes a
 * message that says what to do into err (errlen bytes). */
int cp_config_set(cp_config *c, const char *key, const char *value, cp_conf_origin origin,
                  const char *detail, char *err, size_t errlen);
/* Parses "key=value" and sets it with origin --set. */
int cp_config_set_arg(cp_config *c, const char *kv, char *err, size_t errlen);
/* Loads a YAML file: nested mappings become dotted keys; sequences and mappings
 * fill list and map keys. Errors name the file and line. */
int cp_config_load_file(cp_config *c, const char *path, char *err, size_t errlen);
/* The same from YAML text in memory; name stands for the file in messages. */
int cp_config_load_yaml(cp_config *c, const char *text, size_t len, const char *name, char *err,
                        size_t errlen);
/* Loads CLICKPULSE_* variables from envp (NULL-terminated "NAME=value" strings);
 * CLICKPULSE_CONFIG (the file's path) is skipped. Unknown names are errors. */
int cp_config_load_env(cp_config *c, char *const *envp, char *err, size_t errlen);

/* Writes the value of key as text into out (the form cp_config_set accepts). */
int cp_config_format_value(const cp_config *c, const cp_conf_entry *e, char *out, size_t outlen);
/* Prints every key: "key = value   # origin". */
void cp_config_show(const cp_config *c, FILE *out);
/* Prints the documentation of every key (type, default, help). */
void cp_config_help(FILE *out);

#endif

#ifndef CLICKPULSE_SINKS_H
#define CLICKPULSE_SINKS_H

#include "clickpulse/config.h"
#include "clickpulse/store.h"
#include "clickpulse/str.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sinks: followers of silver and gold that deliver what they hold to other systems —
 * PostgreSQL, ClickHouse, InfluxDB and Kafka. Each is a const table of callbacks
 * (src/sinks/internal.h) run by one runner: its own configuration and connection to the
 * store, batches of rows read from silver past its position, retries with exponential
 * backoff while the destination is down (ingestion goes on; the sink catches up from
 * there when it is back), a durable position per table, and metrics.
 *
 * Tables are delivered three ways: silver's append-only tables (events, orders,
 * order_items) by log offset; tables updated in place (rt_minute) by their update time;
 * and the others (customers, sessions, every gold mart) whole, again whenever their
 * content changes. Positions live in <data_dir>/sinks/<sink>.positions; a destination
 * that can tell what it holds (PostgreSQL, ClickHouse: the highest offset of a table,
 * written atomically with its rows) is asked instead, so a redelivered batch never
 * duplicates rows there. */
typedef struct cp_sink_ops cp_sink_ops;
extern const cp_sink_ops cp_sink_postgres, cp_sink_clickhouse, cp_sink_influx, cp_sink_kafka,
    cp_sink_lake;
/* 1 when name can name an instance in the lake: 1-64 letters, digits and underscores. */
int cp_lake_instance_ok(const char *name);

typedef struct cp_sink cp_sink;
/* A sink of the kind ops with its configuration from c, reading through its own
 * connection to base. Checks the configuration only; connects on the first step. */
int cp_sink_new(const cp_sink_ops *ops, cp_store *base, const cp_config *c, cp_sink **out,
                char *err, size_t errlen);
/* Every sink the configuration enables (sinks.postgres.dsn, sinks.clickhouse.url,
 * sinks.influx.url, sinks.kafka.brokers, lake.dir), in *out (*n of them; at most
 * CP_SINKS_MAX). */
enum { CP_SINKS_MAX = 5 };
int cp_sinks_from_config(cp_store *base, const cp_config *c, cp_sink **out, size_t *n, char *err,
                         size_t errlen);
const char *cp_sink_name(const cp_sink *s);
/* One pass over the sink's tables: connects when needed, delivers at most one batch per
 * table. Returns the rows delivered (0: nothing new) or a negative error (the destination
 * is down or refused; the positions stay, the next step retries). */
int64_t cp_sink_step(cp_sink *s);
/* Steps until nothing is left or a step fails; the rows delivered or an error. */
int64_t cp_sink_drain(cp_sink *s);
/* Runs steps on a thread of its own, pausing when idle and backing off after failures
 * (sinks.retry_min doubling up to sinks.retry_max). */
int cp_sink_start(cp_sink *s);
/* Stops the thread after a last drain (bounded by sinks.drain_timeout). */
void cp_sink_stop(cp_sink *s);
void cp_sink_free(cp_sink *s);
/* Prometheus text: rows and batches delivered per table, failures, retries, whether the
 * destination is up, positions and lag. Thread-safe. */
void cp_sink_metrics(cp_sink *const *sinks, size_t n, cp_buf *out);
/* 1 when the last step succeeded; otherwise 0 and the reason in reason. Thread-safe. */
int cp_sink_up(cp_sink *s, char *reason, size_t len);

/* Parquet exports (DuckDB's COPY): silver's events, orders, order_items and sessions
 * Hive-partitioned by day into <dir>/<table>/dt=YYYY-MM-DD/data.parquet, and every gold
 * mart whole into <dir>/gold/<mart>.parquet. Incremental: the days with events new to the
 * log since the last export (and the day before each, for sessions that grew) are written
 * again; full writes every day. Files appear by rename, whole. The cursor is
 * <dir>/_cursor. Sessions are exported as the sessions job last left them. Returns 0 or
 * an error with a message in err; s's own connection is used (one thread). */
typedef struct cp_export_report {
    int64_t days, files, marts;
    int64_t next_offset;
    double seconds;
} cp_export_report;
int cp_export_parquet(cp_store *s, const char *dir, bool full, cp_export_report *r, char *err,
                      size_t errlen);

#endif

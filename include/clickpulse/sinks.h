/* Sinks: followers of silver that publish what it holds to other systems. Each
 * keeps its own cursor in <data_dir>/sinks/<name>.cursor, moved only once the
 * destination has acknowledged what came before it, so a restart publishes from
 * there again: at-least-once, and consumers dedupe on the event id (or take the
 * latest value per key, for the per-minute aggregates). */
#ifndef CLICKPULSE_SINKS_H
#define CLICKPULSE_SINKS_H

#include "clickpulse/config.h"
#include "clickpulse/store.h"
#include "clickpulse/str.h"

/* The Kafka sink: cleaned silver events to sinks.kafka.events_topic keyed by identity,
 * and the per-minute rollups (rt_minute) to sinks.kafka.minutes_topic keyed by minute,
 * as JSON, through librdkafka's idempotent producer. */
typedef struct cp_kafka_sink cp_kafka_sink;
int cp_kafka_sink_new(cp_store *s, const cp_config *c, cp_kafka_sink **out, char *err,
                      size_t errlen);
/* Publishes what silver holds past the cursor (at most a bounded batch), waits for the
 * broker's acknowledgements and moves the cursor. Returns the messages published (0:
 * nothing new) or a negative error (the cursor stays; the next call retries). */
int cp_kafka_sink_step(cp_kafka_sink *k);
void cp_kafka_sink_free(cp_kafka_sink *k);
/* Prometheus text: messages published, failures, the events cursor. Thread-safe. */
void cp_kafka_sink_metrics(cp_kafka_sink *k, cp_buf *out);

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

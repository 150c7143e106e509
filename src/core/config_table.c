/* The configuration table: every key clickpulse understands, in one place.
 * Keys use designated initialisers so the table reads as documentation. */
#include "clickpulse/config.h"

#include <stddef.h>

static const char *const level_choices[] = {"debug", "info", "warn", "error", "off", NULL};
static const char *const format_choices[] = {"text", "json", NULL};
static const char *const fsync_choices[] = {"batch", "interval", "off", NULL};
static const char *const sim_format_choices[] = {"jsonl", "batch", NULL};

#define F(field) offsetof(cp_config, field)

static const cp_conf_entry table[] = {
    {.key = "data_dir", .type = CP_CONF_STR, .def = "./data", .offset = F(data_dir),
     .help = "Directory of the bronze log, the DuckDB database and exports."},
    {.key = "logging.level", .type = CP_CONF_ENUM, .def = "info", .offset = F(logging_level),
     .choices = level_choices, .help = "Minimum level of diagnostic log lines."},
    {.key = "logging.format", .type = CP_CONF_ENUM, .def = "text", .offset = F(logging_format),
     .choices = format_choices, .help = "Diagnostic log lines as text or JSON objects."},
    {.key = "log.fsync", .type = CP_CONF_ENUM, .def = "batch", .offset = F(log_fsync),
     .choices = fsync_choices,
     .help = "When the bronze log is synced to disk: every batch, every interval, or never."},
    {.key = "log.fsync_interval", .type = CP_CONF_DURATION, .def = "100ms",
     .offset = F(log_fsync_interval_ms), .help = "Sync period when log.fsync is 'interval'."},
    {.key = "collector.listen", .type = CP_CONF_STR, .def = "127.0.0.1:8080",
     .offset = F(collector_listen), .help = "Address of the HTTP collector (host:port)."},
    {.key = "collector.write_keys", .type = CP_CONF_MAP, .def = "",
     .offset = F(collector_write_keys),
     .help = "Accepted write keys: a list, or a mapping of key to source name."},
    {.key = "collector.max_event_bytes", .type = CP_CONF_SIZE, .def = "32KB",
     .offset = F(collector_max_event_bytes), .min = 256, .max = 16777216,
     .help = "Largest accepted event; larger ones are rejected as too_large."},
    {.key = "collector.max_request_bytes", .type = CP_CONF_SIZE, .def = "500KB",
     .offset = F(collector_max_request_bytes), .min = 1024, .max = 268435456,
     .help = "Largest accepted request body, after decompression."},
    {.key = "collector.max_batch_events", .type = CP_CONF_INT, .def = "2500",
     .offset = F(collector_max_batch_events), .min = 1, .max = 1000000,
     .help = "Most events accepted in one batch."},
    {.key = "dashboard.listen", .type = CP_CONF_STR, .def = "127.0.0.1:8088",
     .offset = F(dashboard_listen), .help = "Address of the dashboard and /api/v1 (host:port)."},
    {.key = "dashboard.token", .type = CP_CONF_STR, .def = "", .offset = F(dashboard_token),
     .help = "Token required by the dashboard and the API."},
    {.key = "kafka.brokers", .type = CP_CONF_STR, .def = "", .offset = F(kafka_brokers),
     .help = "Kafka bootstrap servers (host:port,...); empty disables the Kafka source."},
    {.key = "kafka.topics", .type = CP_CONF_LIST, .def = "events", .offset = F(kafka_topics),
     .help = "Topics the Kafka source subscribes to."},
    {.key = "kafka.group", .type = CP_CONF_STR, .def = "clickpulse", .offset = F(kafka_group),
     .help = "Kafka consumer group of this instance."},
    {.key = "pipeline.dedup_window", .type = CP_CONF_DURATION, .def = "7d",
     .offset = F(pipeline_dedup_window_ms), .help = "How long a messageId is remembered."},
    {.key = "pipeline.session_timeout", .type = CP_CONF_DURATION, .def = "30m",
     .offset = F(pipeline_session_timeout_ms),
     .help = "Inactivity after which the next event starts a new session."},
    {.key = "pipeline.allowed_lateness", .type = CP_CONF_DURATION, .def = "5m",
     .offset = F(pipeline_allowed_lateness_ms),
     .help = "Watermark lag: events older than max event time minus this are late."},
    {.key = "sinks.postgres.dsn", .type = CP_CONF_STR, .def = "", .offset = F(sinks_postgres_dsn),
     .help = "PostgreSQL connection string; empty disables the sink."},
    {.key = "sinks.clickhouse.url", .type = CP_CONF_STR, .def = "",
     .offset = F(sinks_clickhouse_url), .help = "ClickHouse HTTP URL; empty disables the sink."},
    {.key = "sinks.influx.url", .type = CP_CONF_STR, .def = "", .offset = F(sinks_influx_url),
     .help = "InfluxDB write URL; empty disables the sink."},
    {.key = "exports.dir", .type = CP_CONF_STR, .def = "", .offset = F(exports_dir),
     .help = "Parquet export directory; empty means <data_dir>/exports."},
    {.key = "models.dir", .type = CP_CONF_STR, .def = "", .offset = F(models_dir),
     .help = "A directory of user SQL models that add to or override the built-in ones."},
    {.key = "simulator.rate", .type = CP_CONF_DOUBLE, .def = "0", .offset = F(simulator_rate),
     .min = 0, .max = 1e9, .help = "Events per second the simulator paces itself to; 0 = off "
                                    "for 'run', as fast as possible for 'simulate'."},
    {.key = "simulator.customers", .type = CP_CONF_INT, .def = "10000",
     .offset = F(simulator_customers), .min = 1, .max = 1000000000,
     .help = "Number of customer profiles in the simulated shop."},
    {.key = "simulator.days", .type = CP_CONF_INT, .def = "30", .offset = F(simulator_days),
     .min = 1, .max = 3660, .help = "Number of days simulated."},
    {.key = "simulator.start", .type = CP_CONF_DATE, .def = "2026-10-01",
     .offset = F(simulator_start), .help = "First simulated day (UTC)."},
    {.key = "simulator.seed", .type = CP_CONF_INT, .def = "1", .offset = F(simulator_seed),
     .min = 0, .max = 9.2e18, .help = "Seed; the same seed gives byte-identical output."},
    {.key = "simulator.products", .type = CP_CONF_INT, .def = "500",
     .offset = F(simulator_products), .min = 10, .max = 1000000,
     .help = "Number of products in the catalogue."},
    {.key = "simulator.format", .type = CP_CONF_ENUM, .def = "jsonl",
     .offset = F(simulator_format), .choices = sim_format_choices,
     .help = "Events as JSON Lines (one event a line) or Segment batch envelopes."},
    {.key = "simulator.batch_size", .type = CP_CONF_INT, .def = "100",
     .offset = F(simulator_batch_size), .min = 1, .max = 2500,
     .help = "Events per batch envelope when simulator.format is 'batch'."},
    {.key = "simulator.duplicate_rate", .type = CP_CONF_DOUBLE, .def = "0.01",
     .offset = F(simulator_duplicate_rate), .min = 0, .max = 1,
     .help = "Share of events delivered twice (same messageId)."},
    {.key = "simulator.late_rate", .type = CP_CONF_DOUBLE, .def = "0.005",
     .offset = F(simulator_late_rate), .min = 0, .max = 1,
     .help = "Share of sessions whose events arrive minutes to hours late."},
    {.key = "simulator.skew_rate", .type = CP_CONF_DOUBLE, .def = "0.05",
     .offset = F(simulator_skew_rate), .min = 0, .max = 1,
     .help = "Share of devices whose clock is wrong (sentAt/originalTimestamp skew)."},
    {.key = "simulator.malformed_rate", .type = CP_CONF_DOUBLE, .def = "0.001",
     .offset = F(simulator_malformed_rate), .min = 0, .max = 1,
     .help = "Extra broken lines per event (bad JSON, types, timestamps, ids, UTF-8)."},
    {.key = "simulator.bot_rate", .type = CP_CONF_DOUBLE, .def = "0.002",
     .offset = F(simulator_bot_rate), .min = 0, .max = 1,
     .help = "Crawler sessions per customer per day."},
};

#undef F

const cp_conf_entry *cp_config_table(size_t *n)
{
    *n = sizeof(table) / sizeof(table[0]);
    return table;
}

/* The Kafka sink: cleaned silver events to sinks.kafka.events_topic keyed by identity,
 * and the per-minute rollups (rt_minute) to sinks.kafka.minutes_topic keyed by minute,
 * each row a JSON object, through librdkafka's idempotent producer. A batch is done when
 * the broker has acknowledged every message of it; a failed batch is published again
 * (at-least-once: consumers dedupe on message_id, or keep the latest value of a minute). */
#include "internal.h"

#include "clickpulse/kafka.h"

#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

typedef struct kafka_sink {
    rd_kafka_t *rk;
    char *events_topic, *minutes_topic;
    int key_col; /* the column keying the current stream's messages */
    const char *topic;
    cp_buf json;
    atomic_int delivery_errors;
} kafka_sink;

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kafka_sink *k = opaque;
    (void)rk;
    if (m->err) {
        atomic_fetch_add(&k->delivery_errors, 1);
        CP_LOG_LIMITED(CP_LOG_WARN, 2, "sink:kafka", "delivery failed: %s",
                       rd_kafka_err2str(m->err));
    }
}

static int produce(kafka_sink *k, const char *topic, cp_slice key, cp_slice value)
{
    for (int tries = 0;; tries++) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key.ptr ? (void *)key.ptr : NULL, key.len),
            RD_KAFKA_V_VALUE((void *)value.ptr, value.len), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return CP_OK;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries > 600) return CP_EIO;
        rd_kafka_poll(k->rk, 50);
    }
}

static void kafka_tables(const cp_config *c, char *out, size_t len)
{
    snprintf(out, len, "%s%s%s", c->sinks_kafka_events_topic[0] ? "events" : "",
             c->sinks_kafka_events_topic[0] && c->sinks_kafka_minutes_topic[0] ? "," : "",
             c->sinks_kafka_minutes_topic[0] ? "rt_minute" : "");
}

static void kafka_map(void *ctx, const char *type, char *dest, size_t destlen, const char **render)
{
    (void)ctx;
    snprintf(dest, destlen, "%s", type);
    *render = !strncmp(type, "TIMESTAMP", 9)
                  ? "regexp_replace(strftime({}, '%Y-%m-%dT%H:%M:%S.%gZ'), '\\.000Z$', 'Z')"
                  : "CAST({} AS VARCHAR)";
}

static int kafka_connect(void *ctx, char *err, size_t errlen)
{
    (void)ctx, (void)err, (void)errlen; /* the producer connects by itself */
    return CP_OK;
}

static void kafka_disconnect(void *ctx)
{
    (void)ctx;
}

static int kafka_prepare(void *ctx, sink_stream *st, char *err, size_t errlen)
{
    (void)ctx, (void)err, (void)errlen;
    return !strcmp(st->source, "events") || !strcmp(st->source, "rt_minute") ? CP_OK : CP_EINVAL;
}

static int kafka_begin(void *ctx, const sink_stream *st)
{
    kafka_sink *k = ctx;
    bool events = !strcmp(st->source, "events");
    k->topic = events ? k->events_topic : k->minutes_topic;
    k->key_col = -1;
    for (size_t i = 0; i < st->ncols; i++)
        if (!strcmp(st->cols[i].name, events ? "identity" : "minute")) k->key_col = (int)i;
    atomic_store(&k->delivery_errors, 0);
    return CP_OK;
}

static bool json_literal(const char *type)
{
    return strstr(type, "INT") || !strcmp(type, "DOUBLE") || !strcmp(type, "FLOAT") ||
           !strncmp(type, "DECIMAL", 7) || !strcmp(type, "BOOLEAN");
}

/* The row as a JSON object; numbers and booleans bare, the rest as strings. */
static int kafka_row(void *ctx, const sink_stream *st, const cp_slice *v)
{
    kafka_sink *k = ctx;
    cp_buf *j = &k->json;
    cp_buf_reset(j);
    int n = 0;
    for (size_t i = 0; i < st->ncols; i++) {
        if ((int)i == st->key && st->mode == SINK_UPDATED) continue; /* internal */
        cp_buf_append_str(j, n++ ? ",\"" : "{\"");
        cp_buf_append_str(j, st->cols[i].name);
        cp_buf_append_str(j, "\":");
        if (!v[i].ptr)
            cp_buf_append_str(j, "null");
        else if (json_literal(st->cols[i].type) && v[i].len && !cp_slice_eq_lit(v[i], "nan") &&
                 !cp_slice_eq_lit(v[i], "inf") && !cp_slice_eq_lit(v[i], "-inf"))
            cp_buf_append(j, v[i].ptr, v[i].len);
        else
            cp_buf_append_json_str(j, v[i].ptr, v[i].len);
    }
    if (cp_buf_append_char(j, '}')) return CP_ENOMEM;
    cp_slice key = k->key_col >= 0 ? v[k->key_col] : (cp_slice){NULL, 0};
    return produce(k, k->topic, key, cp_buf_slice(j));
}

static int kafka_commit(void *ctx, const sink_stream *st, char *err, size_t errlen)
{
    kafka_sink *k = ctx;
    if (rd_kafka_flush(k->rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        atomic_load(&k->delivery_errors)) {
        snprintf(err, errlen, "Kafka: %s: %d messages not acknowledged", st->source,
                 atomic_load(&k->delivery_errors) ? atomic_load(&k->delivery_errors)
                                                  : rd_kafka_outq_len(k->rk));
        return CP_EIO;
    }
    return CP_OK;
}

static void kafka_free(void *ctx)
{
    kafka_sink *k = ctx;
    if (k->rk) {
        rd_kafka_flush(k->rk, 5000);
        rd_kafka_destroy(k->rk);
    }
    cp_buf_free(&k->json);
    cp_free(k->events_topic);
    cp_free(k->minutes_topic);
    cp_free(k);
}

static int kafka_open(const cp_config *c, void **ctx, char *err, size_t errlen)
{
    kafka_sink *k = cp_calloc(1, sizeof(*k));
    if (!k) return CP_ENOMEM;
    *ctx = k;
    cp_buf_init(&k->json);
    k->events_topic = cp_strdup(c->sinks_kafka_events_topic);
    k->minutes_topic = cp_strdup(c->sinks_kafka_minutes_topic);
    char why[512];
    const char *const settings[] = {"bootstrap.servers",
                                    c->sinks_kafka_brokers,
                                    "enable.idempotence",
                                    "true",
                                    "linger.ms",
                                    "10",
                                    NULL};
    rd_kafka_conf_t *conf = cp_kafka_conf(settings, &c->kafka_properties, why, sizeof(why));
    if (!conf) {
        snprintf(err, errlen, "sinks.%s", why);
        return CP_EINVAL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, delivered);
    rd_kafka_conf_set_opaque(conf, k);
    if (!(k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why)))) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "sinks.kafka: %s", why);
        return CP_EINVAL;
    }
    return k->events_topic && k->minutes_topic ? CP_OK : CP_ENOMEM;
}

const cp_sink_ops cp_sink_kafka = {
    .name = "kafka",
    .tables = kafka_tables,
    .open = kafka_open,
    .map = kafka_map,
    .connect = kafka_connect,
    .prepare = kafka_prepare,
    .begin = kafka_begin,
    .row = kafka_row,
    .commit = kafka_commit,
    .disconnect = kafka_disconnect,
    .free = kafka_free,
};

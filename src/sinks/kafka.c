/* The Kafka sink (see include/clickpulse/sinks.h). */
#include "clickpulse/sinks.h"

#include "clickpulse/kafka.h"

#include "clickpulse/error.h"
#include "clickpulse/fs.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BATCH_ROWS 20000

struct cp_kafka_sink {
    cp_store *store;
    rd_kafka_t *rk;
    char *events_topic, *minutes_topic;
    char cursor_path[4096];
    int64_t next_offset;  /* the first silver offset not yet published */
    int64_t minutes_from; /* rt_minute rows updated at or after this (ms) are republished */
    int64_t batch_max_offset, batch_max_updated;
    uint64_t batch_count;
    _Atomic uint64_t published, failed;
    atomic_int delivery_errors;
};

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    cp_kafka_sink *k = opaque;
    (void)rk;
    if (m->err) {
        atomic_fetch_add(&k->delivery_errors, 1);
        CP_LOG_LIMITED(CP_LOG_WARN, 2, "sink:kafka", "delivery failed: %s",
                       rd_kafka_err2str(m->err));
    }
}

static int produce(cp_kafka_sink *k, const char *topic, cp_slice key, cp_slice value)
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

/* ---- the cursor file: "<next offset> <minutes from ms>\n" ---- */

static void read_cursor(cp_kafka_sink *k)
{
    FILE *f = fopen(k->cursor_path, "r");
    long long a = 0, b = 0;
    if (f && fscanf(f, "%lld %lld", &a, &b) == 2) k->next_offset = a, k->minutes_from = b;
    if (f) fclose(f);
}

static int write_cursor(cp_kafka_sink *k)
{
    char tmp[4200], line[64];
    snprintf(tmp, sizeof(tmp), "%s.tmp", k->cursor_path);
    int n = snprintf(line, sizeof(line), "%lld %lld\n", (long long)k->next_offset,
                     (long long)k->minutes_from);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return CP_EIO;
    int ok = write(fd, line, (size_t)n) == n && fdatasync(fd) == 0;
    ok = close(fd) == 0 && ok;
    return ok && rename(tmp, k->cursor_path) == 0 ? CP_OK : CP_EIO;
}

/* ---- rows ---- */

static int64_t to_i64(cp_slice v)
{
    int64_t n = 0;
    for (size_t i = 0; i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9'; i++)
        n = n * 10 + (v.ptr[i] - '0');
    return n;
}

static int event_row(void *ud, const cp_slice *c, size_t n)
{
    cp_kafka_sink *k = ud;
    (void)n;
    int64_t off = to_i64(c[0]);
    if (off > k->batch_max_offset) k->batch_max_offset = off;
    k->batch_count++;
    return produce(k, k->events_topic, c[1], c[2]);
}

static int minute_row(void *ud, const cp_slice *c, size_t n)
{
    cp_kafka_sink *k = ud;
    (void)n;
    int64_t upd = to_i64(c[2]);
    if (upd > k->batch_max_updated) k->batch_max_updated = upd;
    k->batch_count++;
    return produce(k, k->minutes_topic, c[0], c[1]);
}

int cp_kafka_sink_step(cp_kafka_sink *k)
{
    char sql[1024], err[512];
    k->batch_max_offset = k->next_offset - 1;
    k->batch_max_updated = k->minutes_from;
    k->batch_count = 0;
    atomic_store(&k->delivery_errors, 0);
    int rc = CP_OK;
    if (k->events_topic[0]) {
        snprintf(sql, sizeof(sql),
                 "SELECT CAST(\"offset\" AS VARCHAR), identity, "
                 "CAST(to_json(e) AS VARCHAR) FROM (SELECT * EXCLUDE (msg_hash, delivery_hash) "
                 "FROM events WHERE \"offset\" >= %lld ORDER BY \"offset\" LIMIT %d) e",
                 (long long)k->next_offset, BATCH_ROWS);
        rc = cp_store_read_rows(k->store, sql, event_row, k, err, sizeof(err));
    }
    if (rc == CP_OK && k->minutes_topic[0]) {
        snprintf(sql, sizeof(sql),
                 "SELECT strftime(minute, '%%Y-%%m-%%dT%%H:%%M:00Z'), CAST(to_json(m) AS VARCHAR), "
                 "CAST(epoch_ms(updated_at) AS VARCHAR) FROM (SELECT * EXCLUDE (visitors_hll) "
                 "FROM rt_minute WHERE updated_at > make_timestamp(%lld) ORDER BY updated_at "
                 "LIMIT %d) m",
                 (long long)k->minutes_from * 1000, BATCH_ROWS);
        rc = cp_store_read_rows(k->store, sql, minute_row, k, err, sizeof(err));
    }
    if (rc) {
        CP_LOG_LIMITED(CP_LOG_WARN, 1, "sink:kafka", "%s", rc == CP_EIO ? "producing failed" : err);
        atomic_fetch_add(&k->failed, 1);
        return rc;
    }
    if (!k->batch_count) return 0;
    if (rd_kafka_flush(k->rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        atomic_load(&k->delivery_errors)) {
        atomic_fetch_add(&k->failed, 1);
        return CP_EIO; /* the cursor stays: published again next time */
    }
    k->next_offset = k->batch_max_offset + 1;
    k->minutes_from = k->batch_max_updated;
    atomic_fetch_add(&k->published, k->batch_count);
    if (write_cursor(k)) return CP_EIO;
    return k->batch_count > 0x7fffffff ? 0x7fffffff : (int)k->batch_count;
}

int cp_kafka_sink_new(cp_store *s, const cp_config *c, cp_kafka_sink **out, char *err,
                      size_t errlen)
{
    cp_kafka_sink *k = cp_calloc(1, sizeof(*k));
    if (!k) return CP_ENOMEM;
    k->store = s;
    k->events_topic = cp_strdup(c->sinks_kafka_events_topic);
    k->minutes_topic = cp_strdup(c->sinks_kafka_minutes_topic);
    snprintf(k->cursor_path, sizeof(k->cursor_path), "%s/sinks", c->data_dir);
    cp_mkdirs(k->cursor_path);
    size_t n = strlen(k->cursor_path);
    snprintf(k->cursor_path + n, sizeof(k->cursor_path) - n, "/kafka.cursor");
    read_cursor(k);
    char why[512];
    const char *const settings[] = {"bootstrap.servers",
                                    c->sinks_kafka_brokers,
                                    "enable.idempotence",
                                    "true",
                                    "linger.ms",
                                    "10",
                                    NULL};
    rd_kafka_conf_t *conf = cp_kafka_conf(settings, &c->kafka_properties, why, sizeof(why));
    int ok = conf != NULL;
    if (!conf) {
        snprintf(err, errlen, "sinks.%s", why);
        cp_kafka_sink_free(k);
        return CP_EINVAL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, delivered);
    rd_kafka_conf_set_opaque(conf, k);
    if (ok && !(k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why)))) ok = 0;
    if (!ok || !k->events_topic || !k->minutes_topic) {
        snprintf(err, errlen, "sinks.kafka: %s", ok ? "out of memory" : why);
        if (!k->rk) rd_kafka_conf_destroy(conf);
        cp_kafka_sink_free(k);
        return CP_EINVAL;
    }
    *out = k;
    return CP_OK;
}

void cp_kafka_sink_free(cp_kafka_sink *k)
{
    if (!k) return;
    if (k->rk) {
        rd_kafka_flush(k->rk, 5000);
        rd_kafka_destroy(k->rk);
    }
    cp_free(k->events_topic);
    cp_free(k->minutes_topic);
    cp_free(k);
}

void cp_kafka_sink_metrics(cp_kafka_sink *k, cp_buf *out)
{
    cp_buf_appendf(out,
                   "# TYPE clickpulse_sink_kafka_published_total counter\n"
                   "clickpulse_sink_kafka_published_total %llu\n"
                   "# TYPE clickpulse_sink_kafka_failures_total counter\n"
                   "clickpulse_sink_kafka_failures_total %llu\n",
                   (unsigned long long)atomic_load(&k->published),
                   (unsigned long long)atomic_load(&k->failed));
}

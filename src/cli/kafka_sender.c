/* Sending simulated traffic to Kafka (librdkafka's idempotent producer): each
 * event is one message, keyed by its identity (anonymousId, else userId) so that
 * an identity's events share a partition; a line that does not decode (the
 * simulator's malformed ones) is sent as it is, without a key. */
#include "cli.h"

#include "clickpulse/error.h"
#include "clickpulse/event.h"
#include "clickpulse/kafka.h"
#include "clickpulse/mem.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

struct kafka_sender {
    rd_kafka_t *rk;
    char *topic;
    cp_event_decoder *dec;
    long sent, failed;
};

static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kafka_sender *s = opaque;
    (void)rk;
    if (m->err) s->failed++;
}

static int produce(kafka_sender *s, cp_slice key, cp_slice value)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            s->rk, RD_KAFKA_V_TOPIC(s->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key.len ? (void *)key.ptr : NULL, key.len),
            RD_KAFKA_V_VALUE((void *)value.ptr, value.len), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            s->sent++;
            return CP_OK;
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "clickpulse simulate: kafka: %s\n", rd_kafka_err2str(e));
            return CP_EIO;
        }
        rd_kafka_poll(s->rk, 50); /* the local queue is full: let deliveries drain it */
    }
}

static int on_event(void *ud, const cp_event *ev)
{
    kafka_sender *s = ud;
    return produce(s, ev->anonymous_id.len ? ev->anonymous_id : ev->user_id, ev->raw);
}

static int on_reject(void *ud, const cp_reject *r)
{
    return produce(ud, CP_SLICE_NULL, r->raw);
}

int kafka_sender_open(kafka_sender **out, const char *brokers, const char *topic,
                      const cp_strlist *props)
{
    kafka_sender *s = cp_calloc(1, sizeof(*s));
    if (!s) return CP_ENOMEM;
    char why[512];
    const char *const settings[] = {
        "bootstrap.servers", brokers, "enable.idempotence", "true", "linger.ms", "5", NULL};
    rd_kafka_conf_t *conf = cp_kafka_conf(settings, props, why, sizeof(why));
    int ok = conf != NULL;
    if (!conf) {
        fprintf(stderr, "clickpulse simulate: %s\n", why);
        kafka_sender_close(s, NULL);
        return CP_EINVAL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, delivered);
    rd_kafka_conf_set_opaque(conf, s);
    if (ok && !(s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why)))) ok = 0;
    if (!ok) {
        fprintf(stderr, "clickpulse simulate: kafka: %s\n", why);
        if (!s->rk) rd_kafka_conf_destroy(conf);
        kafka_sender_close(s, NULL);
        return CP_EINVAL;
    }
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.trust_received_at = true;
    s->topic = cp_strdup(topic);
    s->dec = cp_event_decoder_new(&o, (cp_decode_sink){s, on_event, on_reject});
    if (!s->topic || !s->dec) {
        kafka_sender_close(s, NULL);
        return CP_ENOMEM;
    }
    *out = s;
    return CP_OK;
}

int kafka_sender_send(void *ud, const char *buf, size_t len, size_t n_events)
{
    kafka_sender *s = ud;
    (void)n_events;
    int rc = cp_event_decoder_feed(s->dec, buf, len);
    rd_kafka_poll(s->rk, 0);
    return rc;
}

int kafka_sender_close(kafka_sender *s, FILE *report)
{
    if (!s) return CP_OK;
    int rc = CP_OK;
    if (s->rk) {
        if (s->dec) cp_event_decoder_finish(s->dec);
        if (rd_kafka_flush(s->rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) rc = CP_EIO;
        rd_kafka_destroy(s->rk);
    }
    if (s->failed) rc = CP_EIO;
    if (report)
        fprintf(report, "simulate: %ld messages sent to kafka topic %s, %ld failed\n",
                s->sent - s->failed, s->topic ? s->topic : "", s->failed);
    cp_event_decoder_free(s->dec);
    cp_free(s->topic);
    cp_free(s);
    return rc;
}

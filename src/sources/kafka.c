/* The Kafka source (see include/clickpulse/kafka.h): a librdkafka consumer in
 * a group, with offsets committed by hand once the events are in the bronze log. */
#include "clickpulse/kafka.h"

#include "clickpulse/error.h"
#include "clickpulse/event.h"
#include "clickpulse/live.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/rows.h"
#include "clickpulse/time.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

#define FLUSH_MESSAGES 20000 /* a durable flush and a commit at least this often */
#define FLUSH_MS       50
#define MAX_PARTS      4096
#define WARM_MAX       200000 /* most messages a partition re-read on assignment */
#define MAX_TOPICS     64

/* What a topic carries (kafka.topics entries "name" or "name=layout"). */
enum layout { L_EVENTS, L_CUSTOMERS, L_PURCHASES };
static const char *const layout_names[] = {"events", "customers", "purchases"};

typedef struct part {
    char *topic;
    int32_t partition;
    int64_t next;       /* the next offset to consume (-1: none consumed yet) */
    int64_t committed;  /* the next offset as last committed */
    int64_t warm_until; /* offsets below were counted by the previous owner: re-read for state */
    bool assigned;
} part;

struct cp_kafka_source {
    cp_pipeline *p;
    cp_kafka_options o;
    rd_kafka_t *rk;
    cp_event_decoder *dec, *warm_dec;
    char *topics[MAX_TOPICS];
    enum layout layouts[MAX_TOPICS];
    int n_topics;
    cp_buf row; /* a table row mapped onto its event */
    int64_t session_timeout_ms;
    pthread_mutex_t mu; /* the partition table and counters, for metrics */
    part parts[MAX_PARTS];
    int n_parts;
    /* the message being decoded */
    cp_buf source;
    int32_t partition;
    int64_t offset, received_ms;
    char at[64];
    size_t pending; /* messages since the last durable flush */
    int64_t last_flush_ms;
    bool paused;
    uint64_t messages, commits, commit_failures, pauses, warmup;
    int rc; /* a pipeline failure stops consuming */
};

static part *part_of(cp_kafka_source *k, const char *topic, int32_t partition)
{
    for (int i = 0; i < k->n_parts; i++)
        if (k->parts[i].partition == partition && strcmp(k->parts[i].topic, topic) == 0)
            return &k->parts[i];
    if (k->n_parts == MAX_PARTS) return NULL;
    part *p = &k->parts[k->n_parts];
    if (!(p->topic = cp_strdup(topic))) return NULL;
    p->partition = partition;
    p->next = p->committed = p->warm_until = -1;
    k->n_parts++;
    return p;
}

/* ---- decoding ---- */

static cp_slice position(cp_kafka_source *k, uint32_t index)
{
    int n =
        index ? snprintf(k->at, sizeof(k->at), "%d/%lld.%u", (int)k->partition,
                         (long long)k->offset, index)
              : snprintf(k->at, sizeof(k->at), "%d/%lld", (int)k->partition, (long long)k->offset);
    return (cp_slice){k->at, (size_t)n};
}

static int on_event(void *ud, const cp_event *ev)
{
    cp_kafka_source *k = ud;
    return cp_pipeline_submit(k->p, ev, cp_buf_slice(&k->source), position(k, ev->index));
}

static int on_reject(void *ud, const cp_reject *r)
{
    cp_kafka_source *k = ud;
    return cp_pipeline_reject(k->p, r, cp_buf_slice(&k->source), position(k, r->index),
                              k->received_ms);
}

/* An event of a partition's recent past, counted by its previous owner: session state only. */
static int on_warm_event(void *ud, const cp_event *ev)
{
    cp_kafka_source *k = ud;
    cp_ua_info ua;
    cp_ua_parse(ev->ctx.user_agent, &ua);
    cp_live_event e = {.kind = ev->kind,
                       .time_ms = ev->time_ms,
                       .identity = ev->anonymous_id.len ? ev->anonymous_id : ev->user_id,
                       .is_bot = ua.is_bot};
    cp_live_warm(cp_pipeline_live(k->p), &e);
    return CP_OK;
}

static int on_warm_reject(void *ud, const cp_reject *r)
{
    (void)ud, (void)r;
    return CP_OK;
}

static enum layout layout_of(const cp_kafka_source *k, const char *topic)
{
    for (int i = 0; i < k->n_topics; i++)
        if (strcmp(k->topics[i], topic) == 0) return k->layouts[i];
    return L_EVENTS;
}

/* A message's value into dec: an event or batch as it is; a customers or purchases row
 * mapped onto its event first (a row that does not map is a dead letter, unless warming
 * up). With the pipeline's lock when dec is the pipeline's. */
static int feed(cp_kafka_source *k, cp_event_decoder *dec, enum layout l, cp_slice value, bool warm)
{
    if (l == L_EVENTS) return cp_event_decode(dec, value.ptr, value.len);
    char err[256], id[400];
    cp_slice at = position(k, 0);
    snprintf(id, sizeof(id), "%.*s:%.*s", (int)k->source.len, k->source.ptr, (int)at.len, at.ptr);
    cp_buf_reset(&k->row);
    int rc = cp_row_to_event(l == L_CUSTOMERS ? CP_ROW_CUSTOMER : CP_ROW_PURCHASE, value,
                             cp_slice_from(id), &k->row, err, sizeof(err));
    if (rc == CP_ENOENT) return CP_OK; /* a delete: nothing happened to count */
    if (rc == CP_OK) return cp_event_decode(dec, k->row.ptr, k->row.len);
    if (rc != CP_EINVAL || warm) return rc == CP_EINVAL ? CP_OK : rc;
    cp_reject r = {.reason =
                       strncmp(err, "not JSON", 8) == 0 || strncmp(err, "expected a JSON", 15) == 0
                           ? CP_REJECT_NOT_JSON
                       : strstr(err, "missing") ? CP_REJECT_MISSING_FIELD
                                                : CP_REJECT_INVALID_VALUE,
                   .raw = value};
    snprintf(r.detail, sizeof(r.detail), "%s row: %s", layout_names[l], err);
    return on_reject(k, &r);
}

static void consume(cp_kafka_source *k, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    cp_buf_reset(&k->source);
    cp_buf_appendf(&k->source, "kafka:%s", topic);
    k->partition = m->partition;
    k->offset = m->offset;
    /* the broker's (or producer's) time stands for "received": a lagging consumer must
     * not shift event times by its lag in clock-skew correction */
    k->received_ms = tt != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts > 0 ? ts : cp_now_ms();
    pthread_mutex_lock(&k->mu);
    part *wp = part_of(k, topic, m->partition);
    bool warm = wp && m->offset < wp->warm_until;
    if (warm) k->warmup++;
    pthread_mutex_unlock(&k->mu);
    if (warm && k->received_ms < cp_now_ms() - k->session_timeout_ms) return; /* too old */
    enum layout l = layout_of(k, topic);
    cp_slice value = {m->payload ? m->payload : "", m->len};
    if (warm) {
        cp_event_decoder_set_received_at(k->warm_dec, k->received_ms);
        feed(k, k->warm_dec, l, value, true);
        return;
    }
    pthread_mutex_lock(k->o.lock);
    cp_event_decoder_set_received_at(k->dec, k->received_ms);
    int rc = feed(k, k->dec, l, value, false);
    pthread_mutex_unlock(k->o.lock);
    if (rc) k->rc = rc;
    pthread_mutex_lock(&k->mu);
    part *p = part_of(k, topic, m->partition);
    if (p) p->next = m->offset + 1;
    k->messages++;
    pthread_mutex_unlock(&k->mu);
    k->pending++;
}

/* ---- durability, then the commit ---- */

static int flush_and_commit(cp_kafka_source *k)
{
    k->last_flush_ms = cp_now_ms();
    if (!k->pending) return CP_OK;
    pthread_mutex_lock(k->o.lock);
    int rc = cp_pipeline_flush(k->p, NULL, 0);
    pthread_mutex_unlock(k->o.lock);
    if (rc) return rc;
    k->pending = 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    pthread_mutex_lock(&k->mu);
    for (int i = 0; i < k->n_parts; i++) {
        part *p = &k->parts[i];
        if (p->next > p->committed)
            rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->next;
    }
    pthread_mutex_unlock(&k->mu);
    if (l->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_commit(k->rk, l, 0);
        pthread_mutex_lock(&k->mu);
        if (e) { /* durable anyway: a redelivery is recognised by its position */
            k->commit_failures++;
            CP_LOG_LIMITED(CP_LOG_WARN, 5, "source:kafka", "offset commit failed: %s",
                           rd_kafka_err2str(e));
        } else {
            k->commits++;
            for (int i = 0; i < l->cnt; i++) {
                part *p = part_of(k, l->elems[i].topic, l->elems[i].partition);
                if (p) p->committed = l->elems[i].offset;
            }
        }
        pthread_mutex_unlock(&k->mu);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return CP_OK;
}

static void rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    cp_kafka_source *k = opaque;
    bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
    if (!assign) { /* what was read from the partitions leaving is made durable and committed */
        int rc = flush_and_commit(k);
        if (rc) k->rc = rc;
    }
    pthread_mutex_lock(&k->mu);
    for (int i = 0; i < parts->cnt; i++) {
        part *p = part_of(k, parts->elems[i].topic, parts->elems[i].partition);
        if (!p) continue;
        p->assigned = assign;
        if (assign) p->next = p->committed = p->warm_until = -1;
    }
    pthread_mutex_unlock(&k->mu);
    CP_INFO("source:kafka", "%s %d partition%s", assign ? "assigned" : "revoked", parts->cnt,
            parts->cnt == 1 ? "" : "s");
    if (!assign) {
        rd_kafka_assign(rk, NULL);
        return;
    }
    k->paused = false;
    /* Where the group left each partition (the lag counts from there until a message
     * comes), and where it stood one session timeout ago: a partition that another
     * instance owned is re-read from there, for the state of its open sessions only. */
    rd_kafka_topic_partition_list_t *at = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_topic_partition_list_t *back = rd_kafka_topic_partition_list_copy(parts);
    for (int i = 0; i < back->cnt; i++) back->elems[i].offset = cp_now_ms() - k->session_timeout_ms;
    bool have_at = rd_kafka_committed(rk, at, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    bool have_back =
        have_at && rd_kafka_offsets_for_times(rk, back, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    pthread_mutex_lock(&k->mu);
    for (int i = 0; have_at && i < at->cnt; i++) {
        part *p = part_of(k, at->elems[i].topic, at->elems[i].partition);
        int64_t committed = at->elems[i].offset, from = have_back ? back->elems[i].offset : -1;
        if (!p || committed < 0) continue;
        p->committed = committed;
        int64_t lo, hi; /* brokers that cannot look up by time: a bounded stretch back */
        if (from < 0 && rd_kafka_query_watermark_offsets(rk, p->topic, p->partition, &lo, &hi,
                                                         5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
            from = committed - WARM_MAX > lo ? committed - WARM_MAX : lo;
        if (from >= 0 && from < committed) {
            p->warm_until = committed;
            parts->elems[i].offset = from;
        }
    }
    pthread_mutex_unlock(&k->mu);
    rd_kafka_topic_partition_list_destroy(at);
    rd_kafka_topic_partition_list_destroy(back);
    rd_kafka_assign(rk, parts);
}

/* Pauses every assigned partition while the pipeline is full; resumes below half. */
static void backpressure(cp_kafka_source *k)
{
    size_t backlog = cp_pipeline_backlog(k->p);
    bool want = k->paused ? backlog > k->o.max_backlog / 2 : backlog > k->o.max_backlog;
    if (want == k->paused) return;
    rd_kafka_topic_partition_list_t *l = NULL;
    if (rd_kafka_assignment(k->rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l) {
        if (want)
            rd_kafka_pause_partitions(k->rk, l);
        else
            rd_kafka_resume_partitions(k->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
    }
    k->paused = want;
    if (want) {
        pthread_mutex_lock(&k->mu);
        k->pauses++;
        pthread_mutex_unlock(&k->mu);
    }
}

/* ---- life cycle ---- */

/* librdkafka's own messages into our log: connection trouble as warnings (rate-limited). */
static void rdkafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *msg)
{
    (void)rk;
    if (level <= 4)
        CP_LOG_LIMITED(CP_LOG_WARN, 2, "kafka", "%s: %s", fac, msg);
    else if (level <= 5)
        CP_INFO("kafka", "%s: %s", fac, msg);
    else
        CP_DEBUG("kafka", "%s: %s", fac, msg);
}

rd_kafka_conf_t *cp_kafka_conf(const char *const *settings, const cp_strlist *props, char *err,
                               size_t errlen)
{
    char why[512], name[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    for (const char *const *kv = settings; kv && kv[0]; kv += 2)
        if (rd_kafka_conf_set(conf, kv[0], kv[1], why, sizeof(why)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka: %s", why);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    for (size_t i = 0; props && i < props->n; i++) {
        const char *kv = props->items[i], *eq = strchr(kv, '=');
        if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(name)) {
            snprintf(err, errlen, "kafka.properties: '%s' is not name=value", kv);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(eq - kv), kv);
        if (rd_kafka_conf_set(conf, name, eq + 1, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka.properties: %s", why);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}

int cp_kafka_source_new(cp_pipeline *p, const cp_config *c, const cp_kafka_options *o,
                        cp_kafka_source **out, char *err, size_t errlen)
{
    cp_kafka_source *k = cp_calloc(1, sizeof(*k));
    if (!k) return CP_ENOMEM;
    k->p = p;
    k->o = *o;
    pthread_mutex_init(&k->mu, NULL);
    cp_buf_init(&k->source);
    cp_buf_init(&k->row);
    cp_decode_options d;
    cp_decode_options_default(&d);
    k->dec = cp_event_decoder_new(&d, (cp_decode_sink){k, on_event, on_reject});
    k->warm_dec = cp_event_decoder_new(&d, (cp_decode_sink){k, on_warm_event, on_warm_reject});
    k->session_timeout_ms = c->pipeline_session_timeout_ms;
    if (!k->dec || !k->warm_dec) {
        cp_kafka_source_free(k);
        return CP_ENOMEM;
    }
    const char *const settings[] = {"bootstrap.servers",
                                    c->kafka_brokers,
                                    "group.id",
                                    c->kafka_group,
                                    "enable.auto.commit",
                                    "false",
                                    "auto.offset.reset",
                                    "earliest",
                                    "client.id",
                                    "clickpulse",
                                    NULL};
    rd_kafka_conf_t *conf = cp_kafka_conf(settings, &c->kafka_properties, err, errlen);
    if (!conf) {
        cp_kafka_source_free(k);
        return CP_EINVAL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, rebalance);
    rd_kafka_conf_set_log_cb(conf, rdkafka_log);
    rd_kafka_conf_set_opaque(conf, k);
    char why[512];
    if (!(k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why)))) {
        snprintf(err, errlen, "kafka: %s", why);
        rd_kafka_conf_destroy(conf);
        cp_kafka_source_free(k);
        return CP_EINVAL;
    }
    rd_kafka_poll_set_consumer(k->rk);
    rd_kafka_topic_partition_list_t *topics =
        rd_kafka_topic_partition_list_new((int)c->kafka_topics.n);
    for (size_t i = 0; i < c->kafka_topics.n && k->n_topics < MAX_TOPICS; i++) {
        const char *t = c->kafka_topics.items[i], *eq = strchr(t, '=');
        char *name = eq ? cp_strndup(t, (size_t)(eq - t)) : cp_strdup(t);
        int l = eq ? -1 : L_EVENTS;
        for (int j = 0; eq && j < 3; j++)
            if (strcmp(eq + 1, layout_names[j]) == 0) l = j;
        if (!name || l < 0 || !*name) {
            snprintf(err, errlen,
                     "kafka.topics: '%s': expected a topic, or topic=events|customers|purchases",
                     t);
            cp_free(name);
            rd_kafka_topic_partition_list_destroy(topics);
            cp_kafka_source_free(k);
            return CP_EINVAL;
        }
        k->topics[k->n_topics] = name;
        k->layouts[k->n_topics++] = (enum layout)l;
        rd_kafka_topic_partition_list_add(topics, name, RD_KAFKA_PARTITION_UA);
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(k->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        snprintf(err, errlen, "kafka: cannot subscribe: %s", rd_kafka_err2str(e));
        cp_kafka_source_free(k);
        return CP_EINVAL;
    }
    *out = k;
    return CP_OK;
}

int cp_kafka_source_run(cp_kafka_source *k)
{
    k->last_flush_ms = cp_now_ms();
    uint64_t since_check = 0;
    while (!*k->o.stop && k->rc == CP_OK) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, 20);
        if (m) {
            if (!m->err)
                consume(k, m);
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                CP_LOG_LIMITED(CP_LOG_WARN, 5, "source:kafka", "%s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        }
        if (k->pending >= FLUSH_MESSAGES ||
            (k->pending && cp_now_ms() - k->last_flush_ms >= FLUSH_MS)) {
            int rc = flush_and_commit(k);
            if (rc) k->rc = rc;
        }
        if (!m || ++since_check >= 1024) {
            since_check = 0;
            backpressure(k);
        }
    }
    int rc = k->rc;
    if (rc == CP_OK) rc = flush_and_commit(k);
    if (rc) CP_ERROR("source:kafka", "stopped: %s: %s", cp_strerror(rc), cp_pipeline_error(k->p));
    rd_kafka_consumer_close(k->rk);
    return rc;
}

void cp_kafka_source_free(cp_kafka_source *k)
{
    if (!k) return;
    if (k->rk) rd_kafka_destroy(k->rk);
    cp_event_decoder_free(k->dec);
    cp_event_decoder_free(k->warm_dec);
    for (int i = 0; i < k->n_topics; i++) cp_free(k->topics[i]);
    cp_buf_free(&k->row);
    for (int i = 0; i < k->n_parts; i++) cp_free(k->parts[i].topic);
    cp_buf_free(&k->source);
    pthread_mutex_destroy(&k->mu);
    cp_free(k);
}

static int assigned(const cp_kafka_source *k)
{
    int n = 0;
    for (int i = 0; i < k->n_parts; i++) n += k->parts[i].assigned != 0;
    return n;
}

void cp_kafka_source_metrics(cp_kafka_source *k, cp_buf *out)
{
    pthread_mutex_lock(&k->mu);
    cp_buf_appendf(out,
                   "# TYPE clickpulse_kafka_messages_total counter\n"
                   "clickpulse_kafka_messages_total %llu\n"
                   "# TYPE clickpulse_kafka_commits_total counter\n"
                   "clickpulse_kafka_commits_total %llu\n"
                   "clickpulse_kafka_commit_failures_total %llu\n"
                   "# TYPE clickpulse_kafka_pauses_total counter\n"
                   "clickpulse_kafka_pauses_total %llu\n"
                   "# TYPE clickpulse_kafka_warmup_messages_total counter\n"
                   "clickpulse_kafka_warmup_messages_total %llu\n"
                   "# TYPE clickpulse_kafka_partitions_assigned gauge\n"
                   "clickpulse_kafka_partitions_assigned %d\n"
                   "# TYPE clickpulse_kafka_consumer_lag gauge\n",
                   (unsigned long long)k->messages, (unsigned long long)k->commits,
                   (unsigned long long)k->commit_failures, (unsigned long long)k->pauses,
                   (unsigned long long)k->warmup, assigned(k));
    for (int i = 0; i < k->n_parts; i++) {
        part *p = &k->parts[i];
        int64_t lo = 0, hi = 0;
        /* The high watermark is the one of the last fetch: none yet (just assigned), no
         * lag to tell — a zero would say caught up before a message was read. */
        if (!p->assigned ||
            rd_kafka_get_watermark_offsets(k->rk, p->topic, p->partition, &lo, &hi) != 0 || hi < 0)
            continue;
        int64_t at = p->next >= 0 ? p->next : p->committed >= 0 ? p->committed : lo > 0 ? lo : 0;
        cp_buf_appendf(out, "clickpulse_kafka_consumer_lag{topic=\"%s\",partition=\"%d\"} %lld\n",
                       p->topic, (int)p->partition, (long long)(hi > at ? hi - at : 0));
    }
    pthread_mutex_unlock(&k->mu);
}

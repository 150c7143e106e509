/* The Kafka source (DESIGN.md section 9): a consumer in the group kafka.group,
 * subscribed to kafka.topics. A message's value is a Segment event or batch
 * envelope (JSON); producers key messages by identity so that one identity's
 * events stay in one partition. Events go through the pipeline with the source
 * "kafka:<topic>" and the delivery position "<partition>/<offset>" (".<n>" for
 * the n-th event of a batch); a message that does not decode becomes a dead
 * letter carrying that position. Offsets are committed only after the events
 * are durable in the bronze log: at-least-once from Kafka, exactly once into
 * silver through dedup (a redelivery is recognised by its position). While the
 * pipeline holds more than its backlog limit the partitions are paused. */
#ifndef CLICKPULSE_KAFKA_H
#define CLICKPULSE_KAFKA_H

#include "clickpulse/config.h"
#include "clickpulse/pipeline.h"
#include "clickpulse/str.h"

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

typedef struct cp_kafka_source cp_kafka_source;
struct rd_kafka_conf_s;

/* A librdkafka configuration for the source, the sink and the simulator's producer:
 * settings (name, value, …, NULL), then kafka.properties ("name=value") passed
 * through. NULL with a message in err when librdkafka refuses one. */
struct rd_kafka_conf_s *cp_kafka_conf(const char *const *settings, const cp_strlist *props,
                                      char *err, size_t errlen);

typedef struct cp_kafka_options {
    volatile sig_atomic_t *stop; /* polled; non-zero stops consuming (offsets are committed) */
    pthread_mutex_t *lock;       /* held around each use of the pipeline */
    size_t max_backlog;          /* pause above this many events waiting for the log or silver */
} cp_kafka_options;

/* Creates the consumer (nothing is consumed yet). On error writes a message into err. */
int cp_kafka_source_new(cp_pipeline *p, const cp_config *c, const cp_kafka_options *o,
                        cp_kafka_source **out, char *err, size_t errlen);
/* Consumes until *o->stop; then commits what is durable and leaves the group. */
int cp_kafka_source_run(cp_kafka_source *k);
void cp_kafka_source_free(cp_kafka_source *k);
/* Prometheus text: messages consumed, commits, pauses, and the lag of every assigned
 * partition (high watermark - next offset to consume). Thread-safe. */
void cp_kafka_source_metrics(cp_kafka_source *k, cp_buf *out);

#endif

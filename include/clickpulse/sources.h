/* Sources that feed the pipeline. Each reads its input in chunks, decodes them,
 * submits events and rejects, and flushes the pipeline with its cursor after
 * every chunk, so that a restarted ingest resumes where the last durable
 * batch ended and re-reads nothing twice into silver. */
#ifndef CLICKPULSE_SOURCES_H
#define CLICKPULSE_SOURCES_H

#include "clickpulse/config.h"
#include "clickpulse/pipeline.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct cp_file_options {
    const char *path;            /* a file, or "-" for standard input */
    bool follow;                 /* at the end, wait for more (tail -f); stop with *stop */
    size_t chunk_bytes;          /* 0: 16 MiB */
    volatile sig_atomic_t *stop; /* polled; non-zero stops reading */
    pthread_mutex_t *lock;       /* held around each use of the pipeline, when shared */
    void (*progress)(void *ud, uint64_t done, uint64_t total);
    void *progress_ud;
} cp_file_options;

typedef struct cp_file_result {
    uint64_t bytes;      /* bytes read this run */
    uint64_t resumed_at; /* where reading started (a committed cursor, or 0) */
    const char *format;  /* "jsonl", "customers", "purchases", "clickstream" */
} cp_file_result;

/* Ingests a file of JSON Lines (events or batch envelopes) or a CSV table through p.
 * Its cursor is named "file:<absolute path>". On error writes a message into err. */
int cp_source_file(cp_pipeline *p, const cp_config *c, const cp_file_options *o,
                   cp_file_result *res, char *err, size_t errlen);

#endif

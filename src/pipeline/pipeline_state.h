/* Private to src/pipeline: the pipeline's state, shared by pipeline.c (the live
 * path) and recovery.c (opening, catch-up, replay). */
#ifndef CP_PIPELINE_STATE_H
#define CP_PIPELINE_STATE_H

#include "clickpulse/arena.h"
#include "internal.h"

#define LOG_CHECKPOINT "log"

struct cp_pipeline {
    cp_bronze *log;
    cp_store *store;
    dedup *dd;
    silver_ctx silver;
    int64_t lateness_ms, session_timeout_ms, dedup_window_ms;
    int64_t max_time; /* the watermark's source: newest accepted event time */
    /* the open batch */
    int in_batch;
    cp_bronze_record *recs;
    size_t n_recs, cap_recs;
    uint64_t *inserted;
    size_t n_ins, cap_ins;
    cp_arena arena;
    cp_pipeline_stats stats;
    char err[512];
};

#endif

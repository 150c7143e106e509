/* The pipeline driver: batches of accepted events go to the bronze log, then
 * to silver in one transaction with the checkpoints; on open, whatever the log
 * holds beyond silver's checkpoint is applied first, and the dedup window and
 * the watermark are rebuilt, so a restart continues exactly where the last
 * durable step left off. */
#include "internal.h"

#include "clickpulse/arena.h"
#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>


#include "pipeline_state.h"

const cp_pipeline_stats *cp_pipeline_stats_get(const cp_pipeline *p)
{
    return &p->stats;
}

cp_store *cp_pipeline_store(cp_pipeline *p)
{
    return p->store;
}

const char *cp_pipeline_error(const cp_pipeline *p)
{
    return p->err;
}

static int store_fail(cp_pipeline *p, int rc)
{
    snprintf(p->err, sizeof(p->err), "store: %s", cp_store_error(p->store));
    return rc;
}

static int begin(cp_pipeline *p)
{
    if (p->in_batch) return CP_OK;
    int rc = cp_store_begin(p->store);
    if (rc) return store_fail(p, rc);
    p->in_batch = 1;
    return CP_OK;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return CP_OK;
    size_t nc = *cap ? *cap * 2 : 1024;
    void *a = cp_reallocarray(*arr, nc, size);
    if (!a) return CP_ENOMEM;
    *arr = a;
    *cap = nc;
    return CP_OK;
}

/* The watermark rule of DESIGN.md section 5: late when older than the newest
 * accepted event time minus the allowed lateness. */
static bool watermark(cp_pipeline *p, int64_t t)
{
    bool late = t < p->max_time - p->lateness_ms;
    if (t > p->max_time) p->max_time = t;
    return late;
}

int cp_pipeline_reject(cp_pipeline *p, const cp_reject *r, cp_slice source, cp_slice at,
                       int64_t received_at_ms)
{
    int rc = begin(p);
    if (rc) return rc;
    cp_dead_letter d = {.received_at_ms = received_at_ms ? received_at_ms : cp_now_ms(),
                        .source = source, .at = at,
                        .reason = cp_slice_from(cp_reject_reason_name(r->reason)),
                        .detail = cp_slice_from(r->detail), .raw = r->raw, .line = (int64_t)r->line};
    p->stats.rejected[r->reason]++;
    rc = cp_store_add_dead_letter(p->store, &d);
    return rc ? store_fail(p, rc) : CP_OK;
}

/* A messageId for events without one: the hash of their bytes, so that a resent
 * copy of the same bytes is still recognised. */
static cp_slice make_message_id(cp_pipeline *p, cp_slice raw)
{
    char *id = cp_arena_alloc(&p->arena, 20);
    if (!id) return CP_SLICE_NULL;
    uint64_t h = XXH3_64bits(raw.ptr, raw.len);
    memcpy(id, "cp-", 3);
    for (int i = 0; i < 16; i++) id[3 + i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 15];
    return (cp_slice){id, 19};
}

int cp_pipeline_submit(cp_pipeline *p, const cp_event *in, cp_slice source, cp_slice at)
{
    cp_event ev = *in;
    cp_reject r = {.raw = in->raw};
    int rc = begin(p);
    if (rc) return rc;
    if (!(ev.flags & CP_HAS_RECEIVED_AT)) {
        ev.received_at_ms = cp_now_ms();
        ev.flags |= CP_HAS_RECEIVED_AT;
    }
    if (!cp_validate_event(&ev, &r)) return cp_pipeline_reject(p, &r, source, at, ev.received_at_ms);
    if (!ev.message_id.len && !(ev.message_id = make_message_id(p, ev.raw)).ptr) return CP_ENOMEM;
    uint64_t msg = hash_message(ev.message_id), delivery = hash_delivery(source, at);
    int verdict = dedup_check(p->dd, msg, delivery, ev.received_at_ms);
    if (verdict < 0) return CP_ENOMEM;
    if (verdict == DEDUP_SAME_DELIVERY) {
        p->stats.redelivered++;
        return CP_OK;
    }
    if (verdict == DEDUP_DUPLICATE) {
        p->stats.duplicates++;
        cp_duplicate dup = {ev.message_id, source, at, ev.received_at_ms};
        rc = cp_store_add_duplicate(p->store, &dup);
        return rc ? store_fail(p, rc) : CP_OK;
    }
    if (grow((void **)&p->inserted, &p->cap_ins, p->n_ins, sizeof(uint64_t)) ||
        grow((void **)&p->recs, &p->cap_recs, p->n_recs, sizeof(cp_bronze_record)))
        return CP_ENOMEM;
    p->inserted[p->n_ins++] = msg;
    int64_t offset = (int64_t)(cp_bronze_next_offset(p->log) + p->n_recs);
    bool late = watermark(p, ev.time_ms);
    p->stats.late += late;
    p->stats.accepted++;
    /* The log record outlives the source's buffers: keep a copy until the flush. */
    char *copy = cp_arena_alloc(&p->arena, ev.raw.len + source.len + at.len + 1);
    if (!copy) return CP_ENOMEM;
    memcpy(copy, ev.raw.ptr, ev.raw.len);
    memcpy(copy + ev.raw.len, source.ptr, source.len);
    if (at.len) memcpy(copy + ev.raw.len + source.len, at.ptr, at.len);
    p->recs[p->n_recs++] = (cp_bronze_record){ev.received_at_ms,
                                              (cp_slice){copy + ev.raw.len, source.len},
                                              (cp_slice){copy + ev.raw.len + source.len, at.len},
                                              (cp_slice){copy, ev.raw.len}};
    rc = silver_write(&p->silver, &ev, offset, msg, delivery, source, late);
    return rc ? store_fail(p, rc) : CP_OK;
}

static void drop_batch(cp_pipeline *p)
{
    if (p->in_batch) cp_store_rollback(p->store);
    for (size_t i = 0; i < p->n_ins; i++) dedup_remove(p->dd, p->inserted[i]);
    p->in_batch = 0;
    p->n_recs = p->n_ins = 0;
    cp_arena_reset(&p->arena);
}

int cp_pipeline_flush(cp_pipeline *p, const char *cursor_name, int64_t cursor)
{
    int rc = begin(p);
    uint64_t first = cp_bronze_next_offset(p->log);
    if (rc == CP_OK && p->n_recs) {
        rc = cp_bronze_append(p->log, p->recs, p->n_recs, &first);
        if (rc) snprintf(p->err, sizeof(p->err), "bronze log: %s", cp_strerror(rc));
    }
    if (rc == CP_OK && (rc = cp_store_set_checkpoint(p->store, LOG_CHECKPOINT, (int64_t)cp_bronze_next_offset(p->log))))
        store_fail(p, rc);
    if (rc == CP_OK && cursor_name && (rc = cp_store_set_checkpoint(p->store, cursor_name, cursor)))
        store_fail(p, rc);
    if (rc != CP_OK) {
        drop_batch(p);
        return rc;
    }
    rc = cp_store_commit(p->store);
    p->in_batch = 0;
    if (rc) {
        /* The log has the batch; silver catches up from it when the pipeline reopens. */
        store_fail(p, rc);
        drop_batch(p);
        return rc;
    }
    p->stats.batches++;
    p->n_recs = p->n_ins = 0;
    cp_arena_reset(&p->arena);
    return CP_OK;
}

int cp_pipeline_note_cursor(cp_pipeline *p, const char *cursor_name, int64_t cursor)
{
    int rc = begin(p);
    if (rc == CP_OK && (rc = cp_store_set_checkpoint(p->store, cursor_name, cursor))) store_fail(p, rc);
    return rc;
}

int cp_pipeline_cursor(cp_pipeline *p, const char *cursor_name, int64_t *cursor, bool *found)
{
    *cursor = 0;
    return cp_store_get_checkpoint(p->store, cursor_name, cursor, found);
}

int cp_pipeline_refresh_sessions(cp_pipeline *p)
{
    int rc = sessions_refresh(p->store, p->session_timeout_ms);
    if (rc == CP_OK) rc = cp_store_refresh_derived(p->store);
    return rc ? store_fail(p, rc) : CP_OK;
}

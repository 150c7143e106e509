/* Opening the pipeline: the bronze log (with its own recovery), the store, the
 * catch-up of silver from the log's tail, the dedup window and the watermark;
 * and the full replay of silver from the log. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/fs.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline_state.h"

#define REPLAY_BATCH 50000

typedef struct replay_ctx {
    cp_pipeline *p;
    const cp_bronze_entry *entry;
    int rc;
} replay_ctx;

static int replay_event(void *ud, const cp_event *ev)
{
    replay_ctx *c = ud;
    cp_pipeline *p = c->p;
    const cp_bronze_entry *e = c->entry;
    uint64_t msg = hash_message(ev->message_id), delivery = hash_delivery(e->source, e->at);
    if (dedup_check(p->dd, msg, delivery, e->received_at_ms) < 0) return CP_ENOMEM;
    bool late = ev->time_ms < p->max_time - p->lateness_ms;
    if (ev->time_ms > p->max_time) p->max_time = ev->time_ms;
    return silver_write_or_isolate(p, ev, (int64_t)e->offset, msg, delivery, e->source, e->at,
                                   late);
}

static int replay_reject(void *ud, const cp_reject *r)
{
    replay_ctx *c = ud;
    CP_ERROR("pipeline", "bronze entry %llu does not decode: %s (%s)",
             (unsigned long long)c->entry->offset, cp_reject_reason_name(r->reason), r->detail);
    return CP_ECORRUPT;
}

static int commit_replayed(cp_pipeline *p, int64_t from, int64_t to)
{
    (void)from;
    int rc = cp_live_persist(p->live, p->store);
    if (rc == CP_OK) rc = cp_store_set_checkpoint(p->store, LOG_CHECKPOINT, to);
    if (rc == CP_OK)
        rc = cp_store_commit(p->store);
    else
        cp_store_rollback(p->store);
    return rc;
}

/* Applies bronze entries from `from` to the log's end to silver, in transactions; *done
 * follows the last commit (and *max_time the watermark's source there). */
static int apply_from(cp_pipeline *p, cp_event_decoder *dec, replay_ctx *cx, uint64_t from,
                      uint64_t *done, int64_t *max_time)
{
    cp_bronze_reader *r;
    cp_bronze_entry e;
    cx->entry = &e; /* the decoder's sink points at cx */
    int rc = cp_bronze_reader_open(p->log, from, &r);
    if (rc) return rc;
    int64_t batch_from = (int64_t)from;
    size_t n = 0;
    int more;
    while (rc == CP_OK && (more = cp_bronze_reader_next(r, &e)) != 0) {
        if (more < 0) {
            rc = more;
            break;
        }
        if (n == 0 && (rc = cp_store_begin(p->store))) break;
        if (n == 0) batch_from = (int64_t)e.offset;
        cp_event_decoder_set_received_at(dec, e.received_at_ms);
        if (!cp_bronze_entry_erased(&e)) rc = cp_event_decode(dec, e.event.ptr, e.event.len);
        if (rc == CP_OK && ++n == REPLAY_BATCH) {
            rc = commit_replayed(p, batch_from, (int64_t)e.offset + 1);
            if (rc == CP_OK) *done = e.offset + 1, *max_time = p->max_time;
            n = 0;
        }
    }
    if (n && rc == CP_OK)
        rc = commit_replayed(p, batch_from, (int64_t)cp_bronze_next_offset(p->log));
    else if (n)
        cp_store_rollback(p->store);
    if (rc) { /* they saw rows that were rolled back */
        sess_track_abandon(p->silver.track);
        people_track_abandon(p->silver.people);
    }
    cp_bronze_reader_close(r);
    return rc;
}

/* apply_from, again from the last commit while rows turn out to be poison. */
static int apply_log(cp_pipeline *p, uint64_t from)
{
    replay_ctx c = {.p = p};
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.max_event_bytes = o.max_line_bytes = 64u << 20;
    cp_event_decoder *dec =
        cp_event_decoder_new(&o, (cp_decode_sink){&c, replay_event, replay_reject});
    if (!dec) return CP_ENOMEM;
    uint64_t done = from;
    int64_t max_time = p->max_time;
    int rc;
    while ((rc = apply_from(p, dec, &c, done, &done, &max_time)) && p->poison.found) {
        p->poison.found = false;
        p->max_time = max_time; /* late flags as the first time through */
        silver_back(p);
    }
    cp_event_decoder_free(dec);
    return rc;
}

static int dedup_fill(void *ud, uint64_t msg, uint64_t delivery, int64_t recv_ms)
{
    return dedup_load(ud, msg, delivery, recv_ms) < 0 ? CP_ENOMEM : CP_OK;
}

int dedup_reach(cp_pipeline *p, int64_t recv_ms)
{
    /* two windows down: an archive going back in time reloads once a window */
    int64_t since = recv_ms - 2 * p->dedup_window_ms - 1000, until = dedup_floor_of(p->dd);
    dedup_near(p->dd, since + p->dedup_window_ms);
    const silver_batch *b = p->open; /* accepted, not yet in the log: in memory */
    for (size_t i = 0; b && i < b->n_events; i++)
        if (dedup_load(p->dd, b->events[i].msg, b->events[i].delivery,
                       b->events[i].received_at_ms) < 0)
            return CP_ENOMEM;
    int rc = writer_hold(p); /* what the log holds is in silver, and its connection ours */
    if (rc) return rc;
    CP_INFO("pipeline", "dedup: receive times from %lld on looked up in silver", (long long)since);
    rc = cp_store_scan_hashes(p->store, since, until, dedup_fill, p->dd);
    writer_release(p);
    if (rc == CP_OK) dedup_floor(p->dd, since);
    return rc;
}

static int dead_fill(void *ud, cp_slice source, cp_slice at, int64_t recv_ms)
{
    uint64_t delivery = hash_delivery(source, at);
    int64_t now = dedup_newest(ud);
    (void)recv_ms; /* possibly another clock than the events': placed at the newest */
    if (now == INT64_MIN) return CP_OK;
    return dedup_check(ud, reject_key(delivery), delivery, now) < 0 ? CP_ENOMEM : CP_OK;
}

/* Dedup window and watermark from what silver holds. */
static int rebuild_state(cp_pipeline *p)
{
    int64_t v;
    bool null;
    int rc = cp_store_scalar(p->store, "SELECT epoch_ms(max(event_time)) FROM events", &v, &null);
    if (rc) return rc;
    p->max_time = null ? INT64_MIN / 2 : v;
    if ((rc =
             cp_store_scalar(p->store, "SELECT epoch_ms(max(received_at)) FROM events", &v, &null)))
        return rc;
    int64_t since = (null ? cp_now_ms() : v) - p->dedup_window_ms - 1000;
    if (!null && (rc = cp_store_scan_hashes(p->store, since, INT64_MAX, dedup_fill, p->dd)))
        return rc;
    if (!null) dedup_floor(p->dd, since); /* older ones are looked up when needed */
    return cp_store_scan_dead_letters(p->store, since, dead_fill, p->dd);
}

/* Brings silver up to the log's end. */
static int catch_up(cp_pipeline *p)
{
    int64_t applied = 0;
    bool found;
    int rc = cp_store_get_checkpoint(p->store, LOG_CHECKPOINT, &applied, &found);
    if (rc) return rc;
    uint64_t end = cp_bronze_next_offset(p->log);
    if ((uint64_t)applied > end) {
        snprintf(p->err, sizeof(p->err),
                 "silver has applied the log up to offset %lld but the log ends at %llu: the log "
                 "lost data; run 'clickpulse replay' to rebuild silver from what the log holds",
                 (long long)applied, (unsigned long long)end);
        return CP_ECORRUPT;
    }
    if ((uint64_t)applied == end) return CP_OK;
    CP_INFO("pipeline", "applying bronze offsets %lld..%llu to silver", (long long)applied,
            (unsigned long long)end - 1);
    return apply_log(p, (uint64_t)applied);
}

/* The dedup window, its cold part in <data_dir>/dedup. */
static dedup *new_dedup(cp_pipeline *p, char *err, size_t errlen)
{
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/dedup", p->store_dir);
    return dedup_new(p->dedup_window_ms, p->dedup_memory, dir, err, errlen);
}

int cp_pipeline_replay(cp_pipeline *p)
{
    int rc = writer_sync(p); /* callers replay with no source running */
    if (rc == CP_OK) rc = cp_store_reset_silver(p->store);
    if (rc) return rc;
    dedup_free(p->dd);
    if (!(p->dd = new_dedup(p, p->err, sizeof(p->err)))) return CP_EIO;
    p->max_time = INT64_MIN / 2;
    cp_live_reset(p->live);
    silver_orders_free(&p->silver);
    rc = cp_pipeline_track_derived(p); /* silver is empty now */
    if (rc == CP_OK) rc = apply_log(p, cp_bronze_first_offset(p->log));
    if (rc == CP_OK) rc = cp_pipeline_refresh_sessions(p);
    return rc;
}

static int open_parts(cp_pipeline *p, const cp_config *c, char *err, size_t errlen)
{
    char path[4096];
    cp_bronze_options bo;
    cp_bronze_options_default(&bo);
    snprintf(path, sizeof(path), "%s/log", c->data_dir);
    bo.dir = path;
    bo.fsync = (cp_bronze_fsync)c->log_fsync;
    bo.fsync_interval_ms = c->log_fsync_interval_ms;
    bo.segment_bytes = c->log_segment_bytes;
    bo.retention_bytes = c->log_retention_bytes;
    bo.retention_ms = c->log_retention_ms;
    bo.compression_level = (int)c->log_compression_level;
    bo.min_free_bytes = c->log_min_free;
    cp_bronze_recovery rec;
    int rc = cp_bronze_open(&bo, &p->log, &rec);
    if (rc) {
        snprintf(err, errlen, "cannot open the bronze log in %s: %s", path, cp_strerror(rc));
        return rc;
    }
    snprintf(path, sizeof(path), "%s/clickpulse.duckdb", c->data_dir);
    rc = cp_store_open(path, false, &p->store, err, errlen);
    if (rc == CP_OK && cp_store_set_memory_limit(p->store, c->store_memory_limit)) {
        snprintf(err, errlen, "store.memory_limit: %s", cp_store_error(p->store));
        rc = CP_EDB;
    } else if (rc == CP_OK && cp_store_set_threads(p->store, c->store_threads)) {
        snprintf(err, errlen, "store.threads: %s", cp_store_error(p->store));
        rc = CP_EDB;
    } else if (rc == CP_OK && silver_enums(p->store)) {
        snprintf(err, errlen, "silver's columns of names: %s", cp_store_error(p->store));
        rc = CP_EDB;
    } else if (rc == CP_OK) {
        rc = cp_store_set_currency(p->store, c->currency_reporting, c->currency_rates, err, errlen);
    }
    if (rc == CP_EAGAIN)
        snprintf(err + strlen(err), errlen - strlen(err),
                 " (is 'clickpulse run' using this data directory? stop it or use its API)");
    return rc;
}

int cp_pipeline_open(const cp_config *c, cp_pipeline **out, char *err, size_t errlen)
{
    cp_pipeline *p = cp_calloc(1, sizeof(*p));
    if (!p) return CP_ENOMEM;
    p->lateness_ms = c->pipeline_allowed_lateness_ms;
    p->queue_events = (size_t)c->pipeline_queue_events;
    p->idle_backlog = (size_t)c->collector_max_backlog / 2;
    p->idle_lag_ms = c->background_idle_lag_ms;
    p->session_timeout_ms = c->pipeline_session_timeout_ms;
    p->dedup_window_ms = c->pipeline_dedup_window_ms;
    p->dedup_memory = (size_t)c->pipeline_dedup_memory;
    p->live_memory = (size_t)c->pipeline_live_memory;
    p->derived_memory = (size_t)c->pipeline_derived_memory;
    p->queue_memory = (size_t)c->pipeline_queue_memory;
    p->silver_retention_ms = c->silver_retention_ms;
    p->store_min_free = c->store_min_free;
    snprintf(p->store_dir, sizeof(p->store_dir), "%s", c->data_dir);
    p->max_time = INT64_MIN / 2;
    p->poison.suspect = -1;
    pthread_mutex_init(&p->append_mu, NULL);
    cp_mkdirs(c->data_dir);
    int rc = open_parts(p, c, err, errlen);
    if (rc == CP_OK && !(p->dd = new_dedup(p, err, errlen))) rc = CP_EIO;
    p->silver.store = p->store;
    if (rc == CP_OK &&
        !(p->live = p->silver.live = cp_live_new(p->session_timeout_ms, p->live_memory)))
        rc = CP_ENOMEM;
    if (rc == CP_OK && (rc = rebuild_state(p)))
        snprintf(err, errlen, "%s", cp_store_error(p->store));
    if (rc == CP_OK && (rc = silver_orders_load(&p->silver)))
        snprintf(err, errlen, "%s", cp_store_error(p->store));
    if (rc == CP_OK && (rc = silver_rates_load(&p->silver)))
        snprintf(err, errlen, "loading the exchange rates: %s", cp_store_error(p->store));
    if (rc == CP_OK && (rc = cp_live_restore(p->live, p->store)))
        snprintf(err, errlen, "restoring the live view: %s", cp_store_error(p->store));
    if (rc == CP_OK && (rc = catch_up(p)))
        snprintf(err, errlen, "%s", p->err[0] ? p->err : cp_store_error(p->store));
    if (rc == CP_OK && (rc = writer_start(p)))
        snprintf(err, errlen, "cannot start the silver writer");
    if (rc) {
        cp_pipeline_close(p);
        return rc;
    }
    *out = p;
    return CP_OK;
}

void cp_pipeline_close(cp_pipeline *p)
{
    if (!p) return;
    writer_sync(p);
    writer_stop(p);
    batch_free(p->open);
    cp_store_close(p->store);
    if (p->log && cp_bronze_close(p->log)) CP_ERROR("pipeline", "closing the bronze log failed");
    dedup_free(p->dd);
    cp_live_free(p->live);
    sess_track_free(p->silver.track);
    people_track_free(p->silver.people);
    silver_orders_free(&p->silver);
    silver_rates_free(&p->silver);
    cp_free(p->poison.offsets);
    cp_free(p->recs);
    pthread_mutex_destroy(&p->append_mu);
    cp_free(p);
}

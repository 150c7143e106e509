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

const cp_pipeline_stats *cp_pipeline_stats_get(cp_pipeline *p)
{
    p->stats.poisoned = atomic_load(&p->poison.total);
    p->stats.dedup_entries = dedup_size(p->dd);
    p->stats.dedup_bytes = dedup_table_bytes(p->dd);
    p->stats.dedup_cold = dedup_cold_size(p->dd);
    size_t live_bytes;
    cp_live_memory(p->live, &live_bytes, &p->stats.live_untracked);
    p->stats.live_bytes = live_bytes;
    writer_held(&p->w, &p->stats.queue_events, &p->stats.queue_bytes);
    return &p->stats;
}

size_t cp_pipeline_memory(const cp_config *c)
{
    size_t queue = (size_t)c->pipeline_queue_memory;
    return queue + SPILLED_MEMORY(queue) + (size_t)c->pipeline_dedup_memory + DEDUP_COLD_MEMORY +
           2 * (size_t)c->pipeline_live_memory + CP_LIVE_SKETCH_MEMORY;
}

cp_store *cp_pipeline_store(cp_pipeline *p)
{
    return p->store;
}

const char *cp_pipeline_error(const cp_pipeline *p)
{
    return p->err;
}

/* Room for one more item after n. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    return cp_grow(arr, cap, n + 1, size);
}

/* The batch being gathered, created on first use; NULL when out of memory. */
static silver_batch *open_batch(cp_pipeline *p)
{
    if (!p->open && (p->open = cp_calloc(1, sizeof(silver_batch))))
        cp_arena_init(&p->open->arena, 64u << 10); /* small: its blocks count in queue_memory */
    return p->open;
}

static cp_slice keep(silver_batch *b, cp_slice s)
{
    if (!s.ptr) return s;
    char *c = cp_arena_alloc(&b->arena, s.len + 1);
    if (!c) return (cp_slice){NULL, (size_t)-1};
    memcpy(c, s.ptr, s.len);
    c[s.len] = 0;
    return (cp_slice){c, s.len};
}

#define KEPT(s) ((s).len != (size_t)-1)

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
    silver_batch *b = open_batch(p);
    if (!b || grow((void **)&b->dead, &b->cap_dead, b->n_dead, sizeof(cp_dead_letter)) ||
        grow((void **)&b->inserted, &b->cap_ins, b->n_ins, sizeof(uint64_t)))
        return CP_ENOMEM;
    /* The same delivery again (a source re-reading after a restart or a rebalance) is
     * already a dead letter: one per delivery position. */
    uint64_t delivery = hash_delivery(source, at), key = reject_key(delivery);
    int64_t now = dedup_newest(p->dd);
    if (now != INT64_MIN) {
        int verdict = dedup_check(p->dd, key, delivery, now);
        if (verdict < 0) return CP_ENOMEM;
        if (verdict != DEDUP_NEW) {
            p->stats.redelivered++;
            return CP_OK;
        }
        b->inserted[b->n_ins++] = key;
    }
    cp_dead_letter d = {.received_at_ms = received_at_ms ? received_at_ms : cp_now_ms(),
                        .source = keep(b, source),
                        .at = keep(b, at),
                        .reason = cp_slice_from(cp_reject_reason_name(r->reason)),
                        .detail = keep(b, cp_slice_from(r->detail)),
                        .raw = keep(b, r->raw),
                        .line = (int64_t)r->line};
    if (!KEPT(d.source) || !KEPT(d.at) || !KEPT(d.detail) || !KEPT(d.raw)) return CP_ENOMEM;
    if (!d.raw.ptr) d.raw = CP_SLICE_LIT("");
    b->dead[b->n_dead++] = d;
    p->stats.rejected[r->reason]++;
    return CP_OK;
}

/* A messageId for events without one: the hash of their bytes, so that a resent
 * copy of the same bytes is still recognised. */
static cp_slice make_message_id(silver_batch *b, cp_slice raw)
{
    char *id = cp_arena_alloc(&b->arena, 20);
    if (!id) return CP_SLICE_NULL;
    uint64_t h = XXH3_64bits(raw.ptr, raw.len);
    memcpy(id, "cp-", 3);
    for (int i = 0; i < 16; i++) id[3 + i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 15];
    return (cp_slice){id, 19};
}

static int add_duplicate(cp_pipeline *p, silver_batch *b, const cp_event *ev, cp_slice source,
                         cp_slice at)
{
    if (grow((void **)&b->dups, &b->cap_dups, b->n_dups, sizeof(cp_duplicate))) return CP_ENOMEM;
    cp_duplicate d = {keep(b, ev->message_id), keep(b, source), keep(b, at), ev->received_at_ms};
    if (!KEPT(d.message_id) || !KEPT(d.source) || !KEPT(d.at)) return CP_ENOMEM;
    b->dups[b->n_dups++] = d;
    p->stats.duplicates++;
    return CP_OK;
}

static int add_event(cp_pipeline *p, silver_batch *b, const cp_event *ev, uint64_t msg,
                     uint64_t delivery, cp_slice source, cp_slice at)
{
    if (grow((void **)&b->events, &b->cap_events, b->n_events, sizeof(pending_event)) ||
        grow((void **)&b->inserted, &b->cap_ins, b->n_ins, sizeof(uint64_t)))
        return CP_ENOMEM;
    pending_event e = {.offset = -1, /* the log assigns it at the append */
                       .received_at_ms = ev->received_at_ms,
                       .msg = msg,
                       .delivery = delivery,
                       .late = watermark(p, ev->time_ms),
                       .source = keep(b, source),
                       .at = keep(b, at),
                       .raw = keep(b, ev->raw)};
    if (!KEPT(e.source) || !KEPT(e.at) || !KEPT(e.raw)) return CP_ENOMEM;
    b->inserted[b->n_ins++] = msg;
    b->events[b->n_events++] = e;
    p->stats.late += e.late;
    p->stats.accepted++;
    return CP_OK;
}

silver_batch *batch_spill(silver_batch *into, silver_batch *b)
{
    silver_batch *s = into;
    if (!s && (s = cp_calloc(1, sizeof(*s)))) {
        cp_arena_init(&s->arena, 16u << 10);
        s->spilled = true;
        s->first = b->events[0].offset;
    }
    size_t n = s ? s->n_events + b->n_events : 0;
    uint8_t *late = s ? cp_realloc(s->late, (n + 7) / 8) : NULL;
    if (!late ||
        cp_grow((void **)&s->dead, &s->cap_dead, s->n_dead + b->n_dead, sizeof(*s->dead)) ||
        cp_grow((void **)&s->dups, &s->cap_dups, s->n_dups + b->n_dups, sizeof(*s->dups))) {
        if (s) s->late = late ? late : s->late;
        if (s != into) batch_free(s);
        return NULL;
    }
    s->late = late;
    for (size_t i = s->n_events; i < n; i++) {
        uint8_t bit = (uint8_t)(1u << (i % 8));
        late[i / 8] =
            (uint8_t)(b->events[i - s->n_events].late ? late[i / 8] | bit : late[i / 8] & ~bit);
    }
    /* everything but the events' bytes is copied (a dead letter's raw bytes are not in
     * the log); on failure into keeps only what it had */
    size_t dead = s->n_dead, dups = s->n_dups;
    for (size_t i = 0; i < b->n_dead; i++) {
        cp_dead_letter d = b->dead[i];
        d.source = keep(s, d.source), d.at = keep(s, d.at);
        d.detail = keep(s, d.detail), d.raw = keep(s, d.raw);
        if (!KEPT(d.source) || !KEPT(d.at) || !KEPT(d.detail) || !KEPT(d.raw)) goto fail;
        s->dead[s->n_dead++] = d;
    }
    for (size_t i = 0; i < b->n_dups; i++) {
        cp_duplicate d = b->dups[i];
        d.message_id = keep(s, d.message_id), d.source = keep(s, d.source), d.at = keep(s, d.at);
        if (!KEPT(d.message_id) || !KEPT(d.source) || !KEPT(d.at)) goto fail;
        s->dups[s->n_dups++] = d;
    }
    for (int c = 0; c < b->n_cursors; c++) {
        int k = 0;
        while (k < s->n_cursors && strcmp(s->cursors[k].name, b->cursors[c].name) != 0) k++;
        if (k == s->n_cursors) {
            cp_slice name = keep(s, cp_slice_from(b->cursors[c].name));
            if (!KEPT(name) || k == MAX_CURSORS) goto fail;
            s->cursors[s->n_cursors++].name = name.ptr;
        }
        s->cursors[k].value = b->cursors[c].value;
    }
    s->n_events = n;
    s->log_end = b->log_end;
    batch_free(b);
    return s;
fail:
    if (s != into) {
        batch_free(s);
        return NULL;
    }
    /* cursors already moved on stay so: the log holds b's events, which a restart applies */
    s->n_dead = dead, s->n_dups = dups;
    return NULL;
}

int cp_pipeline_submit(cp_pipeline *p, const cp_event *in, cp_slice source, cp_slice at)
{
    cp_event ev = *in;
    cp_reject r = {.raw = in->raw, .line = in->line, .pos = in->pos, .index = in->index};
    silver_batch *b = open_batch(p);
    if (!b) return CP_ENOMEM;
    if (!(ev.flags & CP_HAS_RECEIVED_AT)) {
        ev.received_at_ms = cp_now_ms();
        ev.flags |= CP_HAS_RECEIVED_AT;
    }
    if (!cp_validate_event(&ev, &r))
        return cp_pipeline_reject(p, &r, source, at, ev.received_at_ms);
    if (!ev.message_id.len && !(ev.message_id = make_message_id(b, ev.raw)).ptr) return CP_ENOMEM;
    uint64_t msg = hash_message(ev.message_id), delivery = hash_delivery(source, at);
    if (!dedup_covers(p->dd, ev.received_at_ms)) { /* older than the table holds whole */
        int rc = dedup_reach(p, ev.received_at_ms);
        if (rc) return rc;
    }
    int verdict = dedup_check(p->dd, msg, delivery, ev.received_at_ms);
    if (verdict < 0) return CP_ENOMEM;
    if (verdict == DEDUP_SAME_DELIVERY) {
        p->stats.redelivered++;
        return CP_OK;
    }
    if (verdict == DEDUP_DUPLICATE) return add_duplicate(p, b, &ev, source, at);
    return add_event(p, b, &ev, msg, delivery, source, at);
}

void cp_pipeline_prefetch(cp_pipeline *p, const cp_event *ev)
{
    if (ev->message_id.len) dedup_prefetch(p->dd, hash_message(ev->message_id));
}

void cp_pipeline_abandon(cp_pipeline *p, cp_pipeline_batch *pb)
{
    silver_batch *b = (silver_batch *)pb;
    if (!b) return;
    for (size_t i = 0; i < b->n_ins; i++) dedup_remove(p->dd, b->inserted[i]);
    batch_free(b);
}

/* The batch's events into the log, as one frame; their offsets come from it. With append_mu. */
static int append_to_log(cp_pipeline *p, silver_batch *b)
{
    if (!b->n_events) return CP_OK;
    if (cp_grow((void **)&p->recs, &p->cap_recs, b->n_events, sizeof(cp_bronze_record)))
        return CP_ENOMEM;
    for (size_t i = 0; i < b->n_events; i++) {
        const pending_event *e = &b->events[i];
        p->recs[i] = (cp_bronze_record){e->received_at_ms, e->source, e->at, e->raw};
    }
    uint64_t first;
    int rc = cp_bronze_append(p->log, p->recs, b->n_events, &first);
    if (rc) {
        snprintf(p->err, sizeof(p->err), "bronze log: %s",
                 rc == CP_EIO ? cp_bronze_error(p->log) : cp_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < b->n_events; i++) b->events[i].offset = (int64_t)(first + i);
    return CP_OK;
}

int cp_pipeline_note_cursor(cp_pipeline *p, const char *cursor_name, int64_t cursor)
{
    silver_batch *b = open_batch(p);
    if (!b) return CP_ENOMEM;
    for (int i = 0; i < b->n_cursors; i++)
        if (strcmp(b->cursors[i].name, cursor_name) == 0)
            return b->cursors[i].value = cursor, CP_OK;
    if (b->n_cursors == MAX_CURSORS) return CP_EINVAL;
    cp_slice name = keep(b, cp_slice_from(cursor_name));
    if (!KEPT(name)) return CP_ENOMEM;
    b->cursors[b->n_cursors++] = (named_cursor){name.ptr, cursor};
    return CP_OK;
}

cp_pipeline_batch *cp_pipeline_seal(cp_pipeline *p)
{
    silver_batch *b = p->open;
    p->open = NULL;
    if (b) p->stats.batches++;
    return (cp_pipeline_batch *)b;
}

int cp_pipeline_commit(cp_pipeline *p, cp_pipeline_batch *pb, cp_pipeline_batch **failed)
{
    silver_batch *b = (silver_batch *)pb;
    *failed = NULL;
    if (!b) return CP_OK;
    pthread_mutex_lock(&p->append_mu);
    /* while silver fails nothing new is taken: what is queued waits for the retries */
    int rc = writer_failed(p) ? CP_EDB : append_to_log(p, b);
    if (rc) {
        pthread_mutex_unlock(&p->append_mu);
        *failed = pb;
        return rc;
    }
    b->log_end = (int64_t)cp_bronze_next_offset(p->log);
    rc = writer_enqueue(p, b); /* the log has the events: queued whatever silver does */
    pthread_mutex_unlock(&p->append_mu);
    return rc;
}

int cp_pipeline_flush(cp_pipeline *p, const char *cursor_name, int64_t cursor)
{
    int rc = cursor_name ? cp_pipeline_note_cursor(p, cursor_name, cursor) : CP_OK;
    cp_pipeline_batch *failed;
    if (rc == CP_OK) rc = cp_pipeline_commit(p, cp_pipeline_seal(p), &failed);
    if (rc && failed) cp_pipeline_abandon(p, failed);
    return rc;
}

int cp_pipeline_cursor(cp_pipeline *p, const char *cursor_name, int64_t *cursor, bool *found)
{
    *cursor = 0;
    int rc = writer_hold(p);
    if (rc) return rc;
    rc = cp_store_get_checkpoint(p->store, cursor_name, cursor, found);
    writer_release(p);
    return rc;
}

int cp_pipeline_sync(cp_pipeline *p)
{
    return writer_sync(p);
}

cp_live *cp_pipeline_live(cp_pipeline *p)
{
    return p->live;
}

int cp_pipeline_catch_up(cp_pipeline *p, int timeout_ms)
{
    return writer_catch_up(p, timeout_ms);
}

/* Sessions, customers and the identity map for the events silver took since the last
 * refresh (its checkpoint): the rows of the people those events name are rebuilt from
 * all their events, the same as recomputing everything, at a cost that follows what
 * changed. The first refresh, and the one after a replay or retention, does it all.
 * Only the silver writer is held off meanwhile: sources go on appending to the log. */
int cp_pipeline_refresh_derived(cp_pipeline *p, char *err, size_t errlen)
{
    int rc = writer_hold(p);
    if (rc) {
        pthread_mutex_lock(&p->w.mu);
        snprintf(err, errlen, "%s", p->w.err);
        pthread_mutex_unlock(&p->w.mu);
        return rc;
    }
    int64_t since = -1, upto = -1;
    bool found, none;
    rc = cp_store_get_checkpoint(p->store, CP_DERIVED_CHECKPOINT, &since, &found);
    if (rc == CP_OK)
        rc = cp_store_scalar(p->store, "SELECT max(\"offset\") FROM events", &upto, &none);
    if (rc == CP_OK && !found) since = -1;
    if (rc == CP_OK && none) upto = -1;
    if (rc == CP_OK && (!found || upto > since)) {
        /* the sessions kept as silver was written, else recomputed */
        /* given up, or failed: the recomputation (it replaces whatever they wrote) */
        if (sess_track_finish(p->silver.track, p->store))
            rc = sessions_refresh(p->store, p->session_timeout_ms, since);
        if (rc == CP_OK && people_track_finish(p->silver.people, p->store, upto))
            rc = cp_store_refresh_derived(p->store, since, upto);
    }
    sess_track_free(p->silver.track);
    people_track_free(p->silver.people);
    p->silver.track = NULL;
    p->silver.people = NULL;
    if (rc) snprintf(err, errlen, "store: %s", cp_store_error(p->store));
    writer_release(p);
    return rc;
}

int cp_pipeline_track_derived(cp_pipeline *p)
{
    int rc = writer_hold(p);
    if (rc) return rc;
    int64_t rows = -1;
    bool none;
    rc = cp_store_scalar(p->store,
                         "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM sessions)",
                         &rows, &none);
    if (rc == CP_OK && rows == 0 && !p->silver.track) { /* the budget shared half and half */
        p->silver.track = sess_track_new(p->session_timeout_ms, p->derived_memory / 2);
        p->silver.people = people_track_new(p->derived_memory / 2);
        if (!p->silver.track || !p->silver.people) rc = CP_ENOMEM;
    }
    writer_release(p);
    return rc;
}

int cp_pipeline_refresh_sessions(cp_pipeline *p)
{
    return cp_pipeline_refresh_derived(p, p->err, sizeof(p->err));
}

int cp_pipeline_retain(cp_pipeline *p, int64_t now_ms)
{
    int rc = writer_sync(p); /* never drop what silver has not applied */
    if (rc) return rc;
    pthread_mutex_lock(&p->append_mu);
    rc = cp_bronze_retain(p->log, now_ms);
    pthread_mutex_unlock(&p->append_mu);
    return rc;
}

size_t cp_pipeline_backlog(cp_pipeline *p)
{
    return (p->open ? p->open->n_events : 0) + cp_pipeline_queued(p);
}

size_t cp_pipeline_queued(cp_pipeline *p)
{
    return atomic_load(&p->w.backlog);
}

/* Without the writer's lock: a scrape must not wait for a writer taken off its core. */
uint64_t cp_pipeline_spilled(cp_pipeline *p)
{
    return atomic_load(&p->w.spilled_total);
}

int cp_pipeline_writer_idle(cp_pipeline *p, uint64_t *raised)
{
    if (raised) *raised = atomic_load(&p->w.raised);
    return atomic_load(&p->w.idle);
}

int cp_pipeline_healthy(cp_pipeline *p, char *reason, size_t len)
{
    if (!atomic_load(&p->w.failing)) return 1; /* /health does not wait for an idle writer */
    pthread_mutex_lock(&p->w.mu);
    int ok = !p->w.failed;
    if (!ok) snprintf(reason, len, "%s", p->w.err);
    pthread_mutex_unlock(&p->w.mu);
    return ok;
}

/* The silver writer: commits batches to the store on a thread of its own, so
 * that DuckDB's work overlaps with decoding, dedup and the log of the next
 * batch. Each batch — events (decoded again from their logged bytes), dead
 * letters, duplicates and the checkpoints — is one transaction; batches are
 * committed in order. A failed transaction is rolled back and tried again, with
 * growing pauses, until it commits (a full disk freed, a database error gone):
 * meanwhile its batches stay queued, the pipeline takes no new ones and health
 * says why; the log keeps everything, so a restart would apply it too. */
#include "pipeline_state.h"

#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"
#include "clickpulse/thread.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

void batch_free(silver_batch *b)
{
    if (!b) return;
    cp_arena_free(&b->arena);
    cp_free(b->events);
    cp_free(b->dead);
    cp_free(b->dups);
    cp_free(b->inserted);
    cp_free(b->late);
    cp_free(b);
}

static int write_event(void *ud, const cp_event *ev)
{
    cp_pipeline *p = ud;
    const pending_event *e = p->w.cur;
    uint64_t msg = e->msg ? e->msg : hash_message(ev->message_id); /* 0: read back */
    return silver_write_or_isolate(p, ev, e->offset, msg, e->delivery, e->source, e->at, e->late);
}

static int write_reject(void *ud, const cp_reject *r)
{
    cp_pipeline *p = ud;
    CP_ERROR("pipeline", "an accepted event at offset %lld no longer decodes: %s",
             (long long)p->w.cur->offset, r->detail);
    return CP_ECORRUPT;
}

/* A spilled batch's events, read back from the log. */
static int write_spilled(cp_pipeline *p, silver_batch *b)
{
    cp_bronze_reader *r = NULL;
    int rc = cp_bronze_reader_open(p->log, (uint64_t)b->first, &r);
    for (size_t i = 0; i < b->n_events && rc == CP_OK; i++) {
        cp_bronze_entry e;
        int more = cp_bronze_reader_next(r, &e);
        if (more <= 0 || e.offset != (uint64_t)b->first + i) {
            rc = more < 0 ? more : CP_ECORRUPT;
            CP_ERROR("pipeline", "bronze offset %llu, waiting for silver, cannot be read back",
                     (unsigned long long)b->first + i);
            break;
        }
        if (cp_bronze_entry_erased(&e)) continue;
        pending_event pe = {.offset = (int64_t)e.offset,
                            .delivery = hash_delivery(e.source, e.at),
                            .late = (b->late[i / 8] >> (i % 8)) & 1,
                            .source = e.source,
                            .at = e.at};
        p->w.cur = &pe;
        cp_event_decoder_set_received_at(p->w.dec, e.received_at_ms);
        rc = cp_event_decode(p->w.dec, e.event.ptr, e.event.len);
    }
    cp_bronze_reader_close(r);
    return rc;
}

/* One batch's rows and checkpoints, inside the open transaction. */
static int write_batch(cp_pipeline *p, silver_batch *b)
{
    int rc = b->spilled ? write_spilled(p, b) : CP_OK;
    for (size_t i = 0; i < b->n_events && rc == CP_OK && !b->spilled; i++) {
        p->w.cur = &b->events[i];
        cp_event_decoder_set_received_at(p->w.dec, b->events[i].received_at_ms);
        rc = cp_event_decode(p->w.dec, b->events[i].raw.ptr, b->events[i].raw.len);
    }
    for (size_t i = 0; i < b->n_dead && rc == CP_OK; i++)
        rc = cp_store_add_dead_letter(p->store, &b->dead[i]);
    for (size_t i = 0; i < b->n_dups && rc == CP_OK; i++)
        rc = cp_store_add_duplicate(p->store, &b->dups[i]);
    return rc;
}

/* Ends the transaction holding n batches' rows: the live minutes they changed, the
 * checkpoints once, at their latest values (a cursor named by several batches keeps
 * the last), and the commit. */
static int finish_batches(cp_pipeline *p, silver_batch **bs, int n)
{
    int rc = cp_live_persist(p->live, p->store);
    if (rc == CP_OK) rc = cp_store_set_checkpoint(p->store, LOG_CHECKPOINT, bs[n - 1]->log_end);
    const char **set = NULL; /* names already set, from the last batch back */
    size_t n_set = 0, cap_set = 0;
    for (int i = n - 1; i >= 0 && rc == CP_OK; i--)
        for (int c = 0; c < bs[i]->n_cursors && rc == CP_OK; c++) {
            const char *name = bs[i]->cursors[c].name;
            size_t k = 0;
            while (k < n_set && strcmp(set[k], name) != 0) k++;
            if (k < n_set) continue;
            if (cp_grow((void **)&set, &cap_set, n_set + 1, sizeof(*set))) {
                rc = CP_ENOMEM;
                break;
            }
            set[n_set++] = name;
            rc = cp_store_set_checkpoint(p->store, name, bs[i]->cursors[c].value);
        }
    cp_free(set);
    if (rc == CP_OK) return cp_store_commit(p->store);
    cp_store_rollback(p->store);
    return rc;
}

/* With the lock held and nothing new queued: waits for the next pickup (not past
 * until_ms) or a wake-up. Returns 0 once until_ms has passed with nothing new. */
static int linger(silver_writer *w, int64_t until_ms)
{
    int64_t next = w->picked_ms + WRITER_PICKUP_MS; /* past it, batches wake the writer */
    if (next <= cp_now_ms() || next > until_ms) next = until_ms;
    struct timespec at = cp_timespec_of_ms(next);
    w->lingering = 1;
    int timed_out = pthread_cond_timedwait(&w->cv, &w->mu, &at) == ETIMEDOUT;
    w->lingering = 0;
    return !(timed_out && cp_now_ms() >= until_ms && w->count == w->taken);
}

/* Into the idle class, caught up (with the lock held; someone raising it without the lock
 * meanwhile is seen after). */
static void writer_rest(silver_writer *w)
{
    if (w->pressed) {
        w->pressed = 0;
        setpriority(PRIO_PROCESS, 0, w->nice_bg);
    }
    if (!w->may_idle || atomic_load(&w->idle)) return;
    atomic_store(&w->idle, 1);
    cp_thread_set_idle(0, 1);
    if (!atomic_load(&w->idle)) cp_thread_set_idle(0, 0);
}

/* Out of the idle class, by whoever finds it needed. */
static void writer_raise(silver_writer *w)
{
    if (atomic_exchange(&w->idle, 0)) {
        cp_thread_set_idle(w->tid, 0);
        atomic_fetch_add(&w->raised, 1);
    }
}

/* Out of the idle class and at the process's nice value, by an enqueuer finding the
 * backlog at idle_backlog (with the lock held). */
static void writer_press(silver_writer *w)
{
    writer_raise(w);
    if (!w->pressed && w->nice_bg > w->nice_base &&
        setpriority(PRIO_PROCESS, (id_t)w->tid, w->nice_base) == 0)
        w->pressed = 1;
}

/* The lock, for an enqueuer: one that waits too long for an idle writer raises it. */
static void lock_writer(silver_writer *w)
{
    if (atomic_load(&w->idle)) {
        struct timespec at = cp_timespec_of_ms(cp_now_ms() + WRITER_IDLE_LOCK_MS);
        if (pthread_mutex_timedlock(&w->mu, &at) == 0) return;
        writer_raise(w);
    }
    pthread_mutex_lock(&w->mu);
}

/* Called by enqueuers with the lock held, n events having come: wakes the writer unless
 * it lingers, took batches less than WRITER_PICKUP_MS ago, and the events are few (it
 * picks them up by its next pickup). */
static void wake_writer(silver_writer *w, size_t n)
{
    w->fresh_events += n;
    if (!w->lingering || w->fresh_events >= WRITER_WAKE_EVENTS || w->count == WRITER_QUEUE ||
        cp_now_ms() - w->picked_ms >= WRITER_PICKUP_MS)
        pthread_cond_broadcast(&w->cv);
}

/* One transaction: the batches queued (up to WRITER_TXN_EVENTS events), written at once
 * (so the live view counts them without delay), and those arriving while it stays open —
 * WRITER_LINGER_MS, or WRITER_BULK_MS at a pace filling a row group by then, while it has
 * fewer than WRITER_ROW_GROUP events, nobody waits for silver and the backlog is under
 * half the sources' bound (they refuse at the bound: with a bound under a row group, the
 * events held open would keep out the ones awaited) — then committed.
 * Called and returning with the lock held; returns the batches done (in the queue from
 * head) and their result in *result. */
static int write_transaction(cp_pipeline *p, silver_batch **taken, int *result)
{
    silver_writer *w = &p->w;
    int64_t start = cp_now_ms(), until_ms = start + WRITER_LINGER_MS;
    int done = 0, rc = CP_OK, open = 0, bulk = 0;
    size_t events = 0;
    for (;;) {
        int n = 0; /* the queued batches, up to WRITER_TXN_EVENTS (one at least) */
        for (size_t more = events; done + n < w->count && (!n || more < WRITER_TXN_EVENTS); n++) {
            taken[done + n] = w->queue[(w->head + done + n) % WRITER_QUEUE];
            more += taken[done + n]->n_events;
        }
        w->taken = done + n; /* no longer to be merged into */
        w->fresh_events = 0;
        if (n) w->picked_ms = cp_now_ms();
        pthread_mutex_unlock(&w->mu);
        if (n && rc == CP_OK && !open) rc = cp_store_begin(p->store), open = rc == CP_OK;
        for (int i = 0; i < n && rc == CP_OK; i++) {
            rc = write_batch(p, taken[done + i]);
            events += taken[done + i]->n_events;
        }
        pthread_mutex_lock(&w->mu);
        done += n;
        if (rc || w->stop || w->syncing || events >= WRITER_ROW_GROUP || w->count == WRITER_QUEUE ||
            atomic_load(&w->backlog) >= p->idle_backlog) /* the sources near their bound */
            break;
        if (w->count == done && !linger(w, until_ms)) {
            if (bulk || events * WRITER_BULK_MS < (size_t)WRITER_ROW_GROUP * WRITER_LINGER_MS)
                break;
            bulk = 1;
            until_ms = start + WRITER_BULK_MS;
        }
    }
    pthread_mutex_unlock(&w->mu);
    if (rc == CP_OK)
        rc = finish_batches(p, taken, done);
    else if (open)
        cp_store_rollback(p->store);
    if (rc) { /* they saw rows that were rolled back */
        sess_track_abandon(p->silver.track);
        people_track_abandon(p->silver.people);
    }
    pthread_mutex_lock(&w->mu);
    *result = rc;
    return done;
}

/* With the lock held: waits until the retry is due or the writer stops. */
static void pause_until(silver_writer *w, int64_t at_ms)
{
    struct timespec until = cp_timespec_of_ms(at_ms);
    while (!w->stop && cp_now_ms() < at_ms)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT) break;
}

/* The database's disk against store.min_free: DuckDB is not asked to write onto a
 * full disk (a failed checkpoint can leave it unusable until reopened). */
static int disk_room(cp_pipeline *p, char *why, size_t len)
{
    struct statvfs v;
    if (p->store_min_free <= 0 || statvfs(p->store_dir, &v) != 0) return CP_OK;
    uint64_t free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
    if (free_bytes >= (uint64_t)p->store_min_free) return CP_OK;
    snprintf(why, len, "the disk of %.200s has %llu MB free, below store.min_free (%lld MB)",
             p->store_dir, (unsigned long long)(free_bytes >> 20),
             (long long)(p->store_min_free >> 20));
    return CP_EIO;
}

static void *writer_main(void *arg)
{
    cp_pipeline *p = arg;
    silver_writer *w = &p->w;
    int64_t pause_ms = 0;
    pthread_setname_np(pthread_self(), "silver writer");
    errno = 0;
    w->nice_base = getpriority(PRIO_PROCESS, 0);
    w->nice_bg = errno ? -1 : cp_thread_background();
    if (w->nice_bg < 0) w->nice_bg = w->nice_base; /* (not known: never pressed) */
    w->tid = gettid();
    pthread_mutex_lock(&w->mu);
    silver_batch **taken = cp_calloc(WRITER_QUEUE, sizeof(*taken));
    for (;;) {
        while ((!w->count || w->held) && !w->stop) {
            if (!w->count) writer_rest(w);
            pthread_cond_wait(&w->cv, &w->mu);
        }
        if (!w->count || w->held || (w->stop && w->failed)) break; /* the log keeps the rest */
        if (w->failed) {
            pause_until(w, cp_now_ms() + pause_ms);
            if (w->stop || w->held) continue;
            pthread_mutex_unlock(&w->mu);
            silver_back(p); /* the failed transaction had counted its events already */
            pthread_mutex_lock(&w->mu);
        }
        char room[400] = "";
        int n = w->count, rc = disk_room(p, room, sizeof(room));
        w->busy = 1;
        if (rc == CP_OK && !taken) rc = CP_ENOMEM;
        if (rc == CP_OK) n = write_transaction(p, taken, &rc);
        w->busy = 0;
        w->taken = 0;
        if (rc && p->poison.found) { /* tried again at once, the row a dead letter */
            p->poison.found = false;
            pthread_mutex_unlock(&w->mu);
            silver_back(p);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        if (rc) { /* the batches stay queued, for the next try */
            pause_ms =
                pause_ms ? (pause_ms * 2 > WRITER_RETRY_MAX_MS ? WRITER_RETRY_MAX_MS : pause_ms * 2)
                         : WRITER_RETRY_FIRST_MS;
            if (room[0])
                snprintf(w->err, sizeof(w->err), "writing silver: %s", room);
            else
                snprintf(w->err, sizeof(w->err), "writing silver: %s: %s", cp_strerror(rc),
                         cp_store_error(p->store));
            if (!w->failed) CP_ERROR("pipeline", "%s (retrying)", w->err);
            w->failed = 1;
            atomic_store(&w->failing, 1);
            w->failures++;
            pthread_cond_broadcast(&w->cv);
            continue;
        }
        if (w->failed)
            CP_WARN("pipeline", "silver writer recovered after %llu failed tries",
                    (unsigned long long)w->failures);
        w->failed = 0;
        atomic_store(&w->failing, 0);
        w->failures = 0;
        pause_ms = 0;
        for (int i = 0; i < n; i++) {
            silver_batch *b = w->queue[(w->head + i) % WRITER_QUEUE];
            w->applied = b->seq; /* a merged batch stands for all the batches merged */
            if (b->spilled) {
                w->spilled_events -= b->n_events;
                w->spilled_bytes -= b->bytes;
            } else {
                w->queued_events -= b->n_events;
                w->queued_bytes -= b->bytes;
            }
            atomic_fetch_sub(&w->backlog, b->n_events);
        }
        w->head = (w->head + n) % WRITER_QUEUE;
        w->count -= n;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu); /* taken[0..n) are the writer's alone now */
        for (int i = 0; i < n; i++) batch_free(taken[i]);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    cp_free(taken);
    return NULL;
}

int writer_failed(cp_pipeline *p)
{
    silver_writer *w = &p->w;
    if (!atomic_load(&w->failing)) return 0;
    pthread_mutex_lock(&w->mu);
    int failed = w->failed;
    if (failed) snprintf(p->err, sizeof(p->err), "%s", w->err);
    pthread_mutex_unlock(&w->mu);
    return failed;
}

int writer_start(cp_pipeline *p)
{
    silver_writer *w = &p->w;
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.max_event_bytes = o.max_line_bytes = 64u << 20;
    if (!(w->dec = cp_event_decoder_new(&o, (cp_decode_sink){p, write_event, write_reject})))
        return CP_ENOMEM;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->may_idle = cp_thread_idle_usable();
    if (pthread_create(&w->thread, NULL, writer_main, p) != 0) return CP_ENOMEM;
    w->started = 1;
    return CP_OK;
}

/* The last queued batch when b's events can be merged into it (a spilled batch the
 * writer has not taken, with room), else NULL. With the lock. */
static silver_batch *spill_tail(silver_writer *w, const silver_batch *b)
{
    if (w->count <= w->taken) return NULL;
    silver_batch *t = w->queue[(w->head + w->count - 1) % WRITER_QUEUE];
    if (!t->spilled || t->n_events + b->n_events > WRITER_SPILL_EVENTS ||
        t->first + (int64_t)t->n_events != b->events[0].offset)
        return NULL;
    return t;
}

/* What a batch holds in memory: its arena's blocks (the events' text and decoded fields,
 * dead letters, duplicates) and arrays. */
static size_t batch_bytes(const silver_batch *b)
{
    return sizeof(*b) + b->arena.reserved + b->cap_events * sizeof(*b->events) +
           b->cap_dead * sizeof(*b->dead) + b->cap_dups * sizeof(*b->dups) +
           b->cap_ins * sizeof(*b->inserted) + (b->late ? (b->n_events + 7) / 8 : 0);
}

/* Whether b would take the memory for silver's queue past its bounds: pipeline.queue_events
 * and queue_memory for batches holding their events, SPILLED_MEMORY more for what spilled
 * ones keep (dead letters, duplicates, lateness bits: their events are in the log). */
static bool over(const cp_pipeline *p, const silver_writer *w, const silver_batch *b, size_t bytes)
{
    if (!w->count) return false;
    if (b->spilled) return w->spilled_bytes + bytes > SPILLED_MEMORY(p->queue_memory);
    return w->queued_events + b->n_events > p->queue_events ||
           w->queued_bytes + bytes > p->queue_memory;
}

void writer_held(silver_writer *w, uint64_t *events, uint64_t *bytes)
{
    lock_writer(w); /* a scrape does not wait long for a writer taken off its core */
    *events = w->queued_events;
    *bytes = w->queued_bytes + w->spilled_bytes;
    pthread_mutex_unlock(&w->mu);
}

int writer_enqueue(cp_pipeline *p, silver_batch *b)
{
    silver_writer *w = &p->w;
    lock_writer(w);
    size_t bytes = batch_bytes(b);
    int64_t now_ms = cp_now_ms();
    if (atomic_load(&w->backlog) + b->n_events >= p->idle_backlog)
        writer_press(w);
    else if (atomic_load(&w->idle) && w->count > w->taken &&
             now_ms - w->queue[(w->head + w->taken) % WRITER_QUEUE]->queued_ms >= p->idle_lag_ms)
        writer_raise(w);
    if (b->n_events && over(p, w, b, bytes)) {
        /* memory is full: the events wait in the log alone (out of memory: b waits below) */
        size_t n = b->n_events;
        silver_batch *tail = spill_tail(w, b);
        if (tail && w->spilled_bytes > SPILLED_MEMORY(p->queue_memory))
            tail = NULL; /* it waits below instead */
        silver_batch *s = batch_spill(tail, b);
        if (s) atomic_fetch_add(&w->spilled_total, n);
        if (s && s == tail) {
            size_t was = tail->bytes;
            tail->bytes = batch_bytes(tail);
            w->spilled_bytes += tail->bytes - was;
            w->spilled_events += n;
            atomic_fetch_add(&w->backlog, n);
            tail->seq = ++w->handed;
            wake_writer(w, n);
            pthread_mutex_unlock(&w->mu);
            return CP_OK;
        }
        if (s) b = s, bytes = batch_bytes(s);
    }
    while (w->count == WRITER_QUEUE || over(p, w, b, bytes)) {
        writer_raise(w);
        pthread_cond_wait(&w->cv, &w->mu);
    }
    w->queue[(w->head + w->count) % WRITER_QUEUE] = b; /* in the log: queued whatever happens */
    w->count++;
    b->queued_ms = now_ms;
    b->seq = ++w->handed;
    b->bytes = bytes;
    if (b->spilled) {
        w->spilled_events += b->n_events;
        w->spilled_bytes += bytes;
    } else {
        w->queued_events += b->n_events;
        w->queued_bytes += bytes;
    }
    atomic_fetch_add(&w->backlog, b->n_events);
    wake_writer(w, b->n_events);
    pthread_mutex_unlock(&w->mu);
    return CP_OK;
}

/* Waits, with the lock held, until the batches queued before the call are committed and
 * the writer is idle (batches queued meanwhile may wait: a steady stream cannot starve
 * the caller). */
static int drain(cp_pipeline *p)
{
    silver_writer *w = &p->w;
    uint64_t target = w->handed;
    w->syncing++;
    writer_raise(w);
    pthread_cond_broadcast(&w->cv);
    while (((w->applied < target && !w->held) || w->busy) && !w->failed)
        pthread_cond_wait(&w->cv, &w->mu);
    while (w->busy) pthread_cond_wait(&w->cv, &w->mu);
    w->syncing--;
    if (w->failed) snprintf(p->err, sizeof(p->err), "%s", w->err);
    return w->failed ? CP_EDB : CP_OK;
}

int writer_sync(cp_pipeline *p)
{
    silver_writer *w = &p->w;
    if (!w->started) return CP_OK;
    pthread_mutex_lock(&w->mu);
    int rc = drain(p);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int writer_hold(cp_pipeline *p)
{
    silver_writer *w = &p->w;
    if (!w->started) return CP_OK;
    pthread_mutex_lock(&w->mu);
    int rc;
    do { /* one holder at a time: another may have taken it while this one drained */
        while (w->held) pthread_cond_wait(&w->cv, &w->mu);
        rc = drain(p);
    } while (rc == CP_OK && w->held);
    if (rc == CP_OK) w->held = 1;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void writer_release(cp_pipeline *p)
{
    silver_writer *w = &p->w;
    if (!w->started) return;
    pthread_mutex_lock(&w->mu);
    w->held = 0;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int writer_catch_up(cp_pipeline *p, int timeout_ms)
{
    silver_writer *w = &p->w;
    if (!w->started) return CP_OK;
    struct timespec until = cp_timespec_of_ms(cp_now_ms() + timeout_ms);
    pthread_mutex_lock(&w->mu);
    uint64_t target = w->handed;
    int rc = CP_OK;
    w->syncing++;
    writer_raise(w);
    pthread_cond_broadcast(&w->cv);
    while (w->applied < target && !w->failed && rc == CP_OK)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT) rc = CP_EAGAIN;
    w->syncing--;
    if (w->failed) rc = CP_EDB;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void writer_stop(cp_pipeline *p)
{
    silver_writer *w = &p->w;
    if (!w->started) return;
    lock_writer(w);
    w->stop = 1;
    writer_raise(w);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    for (int i = 0; i < w->count; i++) /* left to the log (held, or failing): the next open */
        batch_free(w->queue[(w->head + i) % WRITER_QUEUE]);
    w->count = 0;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    cp_event_decoder_free(w->dec);
    w->started = 0;
}

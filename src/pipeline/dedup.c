/* The dedup window: an open-addressing table (linear probing) of 64-bit messageId
 * hashes with the latest accepted delivery's hash (32 bits) and receive time (whole
 * seconds, rounded up). A delivery is a duplicate when the messageId's latest accepted
 * delivery was received at most the window before or after it (in whole seconds, each
 * rounded up), whatever the order the receive times come in. Slots are 16 bytes, four
 * to a cache line; dedup_prefetch lets a caller overlap the cache misses of a request's
 * events.
 *
 * When the table is 70 % full its entries move to a new table — of the same size when
 * some may be past the window (those are dropped), else twice the size — a few slots at
 * each insert, so that no insert waits for a whole table to be copied (at millions of
 * entries that took seconds under the sources' lock). Meanwhile lookups look in both; a
 * slot of the old table before the move's position has moved (or was dropped) and no
 * longer counts. A move drops the entries more than the window older than the newest
 * receive time — and than any older one looked up since the last move (archives bring
 * old receive times; what is near them stays). The floor says which times the table
 * still holds whole: a lookup below it (dedup_covers) is first given the entries the
 * table dropped there (dedup_load, from silver: the pipeline's part).
 *
 * Tables of 2 MB and more are mapped on their own with huge pages asked for (at
 * millions of entries every lookup misses the cache, and with 4 KB pages the TLB too:
 * measured, the collector's batches went 10 % faster). A fresh table's pages are
 * faulted in, zeroed, on first touch — for a 256 MB table over a hundred milliseconds
 * in a virtual machine, in the first inserts of a move, under the sources' lock — so
 * when a table is half full the next one is made, and touched, on a thread of its own;
 * the move takes it if it is ready.
 *
 * The table's memory is bounded (max_bytes, pipeline.dedup_memory, for both tables while
 * one moves): at the largest size a move sends the older half of the entries, by receive
 * time, to the cold part on disk (dedup_cold.c) instead of keeping them — all of them when
 * the last such move left the table more than half full (a flood within a second). A
 * lookup the table misses asks the cold part when it may hold entries near the receive
 * time; the table's entry of a messageId is always the newer. */
#include "internal.h"

#include "clickpulse/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef struct slot {
    uint64_t msg; /* 0 = empty (hashes are never 0) */
    uint32_t delivery;
    int32_t sec; /* receive time: seconds after the table's base, rounded up */
} slot;

/* The next table, made ahead of the move that needs it. */
typedef struct maker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t want; /* the capacity asked for (0: none) */
    slot *ready; /* made and touched, for the next move */
    size_t ready_cap;
    bool started, stop, asked;
} maker;

struct dedup {
    maker mk;
    slot *slots; /* the table inserts go to */
    size_t cap, n;
    slot *old; /* the table being moved from, or NULL */
    size_t old_cap, old_pos, old_n;
    int64_t window_ms, newest_ms, oldest_ms; /* oldest: a lower bound, since the last move */
    int64_t recent_min_ms; /* the oldest receive time looked up since the last move began,
                              of those older than the newest by more than the window */
    int64_t cut_ms;        /* the move under way drops entries older than this */
    int64_t floor_ms;      /* every entry received at or after it is in the table */
    int64_t base_s;
    bool based, grow_next;
    size_t max_cap;   /* the largest table, in slots (0: no limit) */
    dedup_cold *cold; /* where the largest table's moves send entries (NULL: none) */
    int64_t spill_ms; /* the move under way sends entries received at or before it there */
    bool spill_all;   /* the last spilling move left the table more than half full */
    size_t cold_n;    /* entries sent there */
    int64_t cold_min_ms, cold_max_ms; /* their receive times */
    char err[256];
};

#define FIRST_CAP (1u << 16)
/* Tables from this size on are mapped on their own, asking for huge pages: at millions
 * of entries every lookup misses the cache, and with 4 KB pages the TLB too. */
#define HUGE_TABLE (2u << 20)
#define MOVE_STEP  16 /* old slots moved per insert */
#define EXPIRED    INT32_MIN

static slot *table_new(size_t cap)
{
    size_t bytes = cap * sizeof(slot);
    if (bytes < HUGE_TABLE) return cp_calloc(cap, sizeof(slot));
    void *t = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED) return NULL;
    madvise(t, bytes, MADV_HUGEPAGE); /* a hint: without it, plain pages */
    return t;
}

static void table_free(slot *t, size_t cap)
{
    if (!t) return;
    if (cap * sizeof(slot) < HUGE_TABLE)
        cp_free(t);
    else
        munmap(t, cap * sizeof(slot));
}

static void *maker_main(void *arg)
{
    maker *m = arg;
    pthread_setname_np(pthread_self(), "dedup tables");
    pthread_mutex_lock(&m->mu);
    for (;;) {
        while (!m->want && !m->stop) pthread_cond_wait(&m->cv, &m->mu);
        if (m->stop) break;
        size_t cap = m->want;
        m->want = 0;
        pthread_mutex_unlock(&m->mu);
        slot *t = table_new(cap);
        for (size_t i = 0; t && i < cap * sizeof(slot); i += 4096) ((volatile char *)t)[i] = 0;
        pthread_mutex_lock(&m->mu);
        if (m->ready) table_free(m->ready, m->ready_cap);
        m->ready = t, m->ready_cap = cap;
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* Asks for a table of cap slots to be made ahead (huge ones only). */
static void ask_table(maker *m, size_t cap)
{
    if (m->asked || cap * sizeof(slot) < HUGE_TABLE) return;
    if (!m->started) {
        pthread_mutex_init(&m->mu, NULL);
        pthread_cond_init(&m->cv, NULL);
        if (pthread_create(&m->thread, NULL, maker_main, m) != 0) {
            pthread_mutex_destroy(&m->mu);
            pthread_cond_destroy(&m->cv);
            m->asked = true; /* made when needed, then */
            return;
        }
        m->started = true;
    }
    pthread_mutex_lock(&m->mu);
    m->want = cap;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    m->asked = true;
}

/* A table of cap slots: the one made ahead if it is ready and that size, else a new one. */
static slot *take_table(maker *m, size_t cap)
{
    slot *t = NULL, *other = NULL;
    size_t other_cap = 0;
    if (m->started) {
        pthread_mutex_lock(&m->mu);
        if (m->ready && m->ready_cap == cap)
            t = m->ready;
        else
            other = m->ready, other_cap = m->ready_cap;
        m->ready = NULL;
        pthread_mutex_unlock(&m->mu);
    }
    m->asked = false;
    table_free(other, other_cap);
    return t ? t : table_new(cap);
}

static void maker_stop(maker *m)
{
    if (!m->started) return;
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    table_free(m->ready, m->ready_cap);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
}

dedup *dedup_new(int64_t window_ms, size_t max_bytes, const char *cold_dir, char *err,
                 size_t errlen)
{
    dedup *d = cp_calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->cap = FIRST_CAP;
    d->window_ms = window_ms;
    d->newest_ms = INT64_MIN;
    d->oldest_ms = INT64_MAX;
    d->recent_min_ms = INT64_MAX;
    d->cut_ms = d->floor_ms = d->spill_ms = INT64_MIN;
    d->cold_min_ms = INT64_MAX;
    d->cold_max_ms = INT64_MIN;
    if (max_bytes) { /* both tables while one moves */
        d->max_cap = FIRST_CAP;
        while (d->max_cap * 2 * 2 * sizeof(slot) <= max_bytes) d->max_cap *= 2;
    }
    if (max_bytes && cold_dir && !(d->cold = dedup_cold_open(cold_dir, err, errlen))) {
        cp_free(d);
        return NULL;
    }
    if (!(d->slots = table_new(d->cap))) {
        snprintf(err, errlen, "out of memory");
        dedup_cold_close(d->cold);
        cp_free(d);
        return NULL;
    }
    return d;
}

void dedup_free(dedup *d)
{
    if (!d) return;
    maker_stop(&d->mk);
    table_free(d->slots, d->cap);
    table_free(d->old, d->old_cap);
    dedup_cold_close(d->cold);
    cp_free(d);
}

size_t dedup_size(const dedup *d)
{
    return d->n + d->old_n;
}

size_t dedup_cold_size(const dedup *d)
{
    return d->cold_n;
}

size_t dedup_table_bytes(const dedup *d)
{
    return (d->cap + (d->old ? d->old_cap : 0)) * sizeof(slot);
}

const char *dedup_error(const dedup *d)
{
    return d->err[0] ? d->err : "out of memory";
}

static int cold_failed(dedup *d)
{
    snprintf(d->err, sizeof(d->err), "%s", dedup_cold_error(d->cold));
    return -1;
}

int64_t dedup_newest(const dedup *d)
{
    return d->newest_ms;
}

static int32_t to_sec(dedup *d, int64_t ms)
{
    int64_t s = ms / 1000;
    if (s * 1000 < ms) s++; /* rounded up */
    if (!d->based) d->base_s = s, d->based = true;
    s -= d->base_s;
    return s < INT32_MIN + 1 ? INT32_MIN + 1 : s > INT32_MAX ? INT32_MAX : (int32_t)s;
}

static int64_t to_ms(const dedup *d, int32_t sec)
{
    return (d->base_s + sec) * 1000;
}

/* Farther than the window from a delivery received at recv_ms, in whole seconds (both
 * rounded up), before or after. */
static bool expired(dedup *d, const slot *s, int64_t recv_ms)
{
    int64_t gap = (int64_t)to_sec(d, recv_ms) - s->sec;
    return s->sec == EXPIRED || (gap < 0 ? -gap : gap) * 1000 > d->window_ms;
}

/* Dropped by the move under way. */
static bool stale(const dedup *d, const slot *s)
{
    return s->sec == EXPIRED || to_ms(d, s->sec) < d->cut_ms;
}

/* The slot holding msg in a table, or NULL; in the old table only slots not yet moved. */
static slot *find(slot *slots, size_t cap, size_t from, uint64_t msg)
{
    for (size_t i = msg & (cap - 1); slots[i].msg; i = (i + 1) & (cap - 1))
        if (slots[i].msg == msg) return i >= from ? &slots[i] : NULL;
    return NULL;
}

static slot *lookup(dedup *d, uint64_t msg)
{
    slot *s = find(d->slots, d->cap, 0, msg);
    return s || !d->old ? s : find(d->old, d->old_cap, d->old_pos, msg);
}

static void put(slot *slots, size_t cap, const slot *s)
{
    size_t i = s->msg & (cap - 1);
    while (slots[i].msg) i = (i + 1) & (cap - 1);
    slots[i] = *s;
}

/* Moves up to k slots of the old table (dropping those past the window, sending those
 * the move spills to the cold part — written before the slots count as moved). */
static int move_some(dedup *d, size_t k)
{
    size_t spilled = 0;
    for (; k && d->old; k--) {
        const slot *s = &d->old[d->old_pos++];
        if (s->msg) {
            d->old_n--;
            if (!stale(d, s)) {
                int64_t ms = to_ms(d, s->sec);
                if (d->cold && ms <= d->spill_ms) {
                    dedup_cold_add(d->cold, s->msg, s->delivery, ms);
                    spilled++;
                    if (ms < d->cold_min_ms) d->cold_min_ms = ms;
                    if (ms > d->cold_max_ms) d->cold_max_ms = ms;
                } else {
                    put(d->slots, d->cap, s);
                    d->n++;
                    if (ms < d->oldest_ms) d->oldest_ms = ms;
                }
            }
        }
        if (d->old_pos == d->old_cap) {
            table_free(d->old, d->old_cap);
            d->old = NULL;
            d->old_n = 0;
            d->grow_next = d->n > d->cap / 2; /* a sweep that freed little: grow next time */
            if (d->spill_ms != INT64_MIN) d->spill_all = d->n > d->cap / 2;
        }
    }
    d->cold_n += spilled;
    return spilled && dedup_cold_flush(d->cold) ? cold_failed(d) : 0;
}

/* Entries older than this may be dropped: the window before both the newest receive time
 * and the oldest looked up since the last move. */
static int64_t cut_of(const dedup *d)
{
    int64_t t = d->recent_min_ms < d->newest_ms ? d->recent_min_ms : d->newest_ms;
    return t == INT64_MIN || t == INT64_MAX ? INT64_MIN : t - d->window_ms - 1000;
}

/* The size of the next table: the same when some entries may be past the window (and the
 * last sweep freed enough), else twice. */
static size_t next_cap(const dedup *d)
{
    int64_t cut = cut_of(d);
    bool some_old = cut != INT64_MIN && d->oldest_ms < cut;
    size_t cap = some_old && !d->grow_next ? d->cap : d->cap * 2;
    return d->max_cap && cap > d->max_cap ? d->max_cap : cap;
}

/* A move from the largest size to the largest size: the entries received at or before the
 * middle of the table's times (those kept past the cut), or all of them, go to the cold
 * part. */
static int64_t spill_of(const dedup *d, size_t cap)
{
    if (!d->cold || d->cap < d->max_cap || cap < d->max_cap) return INT64_MIN;
    if (d->spill_all || d->newest_ms == INT64_MIN) return INT64_MAX;
    int64_t lo = d->oldest_ms > d->cut_ms ? d->oldest_ms : d->cut_ms;
    return lo >= d->newest_ms ? INT64_MAX : lo + (d->newest_ms - lo) / 2;
}

/* Before an insert: a table at 70 % starts a move (a move still going when the new
 * table fills is finished first). */
static int make_room(dedup *d)
{
    if (d->n + 1 <= d->cap / 10 * 7) return 0;
    if (d->old && move_some(d, d->old_cap)) return -1;
    if (d->n + 1 <= d->cap / 10 * 7) return 0;
    size_t cap = next_cap(d);
    slot *ns = take_table(&d->mk, cap);
    if (!ns) {
        d->err[0] = 0;
        return -1;
    }
    d->cut_ms = cut_of(d);
    d->spill_ms = spill_of(d, cap);
    d->old = d->slots, d->old_cap = d->cap, d->old_pos = 0, d->old_n = d->n;
    d->slots = ns, d->cap = cap, d->n = 0;
    d->oldest_ms = INT64_MAX;
    d->grow_next = false;
    if (d->cut_ms > d->floor_ms) dedup_floor(d, d->cut_ms);
    d->recent_min_ms = INT64_MAX;
    return 0;
}

void dedup_prefetch(const dedup *d, uint64_t msg)
{
    msg = msg ? msg : 1;
    __builtin_prefetch(&d->slots[msg & (d->cap - 1)]);
    if (d->old) __builtin_prefetch(&d->old[msg & (d->old_cap - 1)]);
}

bool dedup_covers(const dedup *d, int64_t recv_ms)
{
    return recv_ms - d->window_ms - 1000 >= d->floor_ms;
}

void dedup_floor(dedup *d, int64_t floor_ms)
{
    d->floor_ms = floor_ms;
    if (d->cold) dedup_cold_floor(d->cold, floor_ms);
}

int64_t dedup_floor_of(const dedup *d)
{
    return d->floor_ms;
}

void dedup_near(dedup *d, int64_t recv_ms)
{
    if (recv_ms < d->recent_min_ms) d->recent_min_ms = recv_ms;
}

static int insert(dedup *d, uint64_t msg, uint64_t delivery, int64_t recv_ms)
{
    if (make_room(d)) return -1;
    if (recv_ms > d->newest_ms) d->newest_ms = recv_ms;
    if (recv_ms < d->oldest_ms) d->oldest_ms = recv_ms;
    if (d->old && move_some(d, MOVE_STEP)) return -1; /* before the entry: a failure adds none */
    slot n = {msg, (uint32_t)delivery, to_sec(d, recv_ms)};
    put(d->slots, d->cap, &n);
    d->n++;
    if (!d->old && d->n > d->cap / 2) ask_table(&d->mk, next_cap(d)); /* the next made ahead */
    return 0;
}

/* The cold part's entry of msg when it may hold one near recv_ms: 1 (in *c), 0, -1. */
static int cold_lookup(dedup *d, uint64_t msg, int64_t recv_ms, slot *c)
{
    if (!d->cold_n || recv_ms < d->cold_min_ms - d->window_ms - 1000 ||
        recv_ms > d->cold_max_ms + d->window_ms + 1000)
        return 0;
    uint32_t delivery;
    int64_t ms;
    int found = dedup_cold_get(d->cold, msg, &delivery, &ms);
    if (found < 0) return cold_failed(d);
    if (found) *c = (slot){msg, delivery, to_sec(d, ms)};
    return found;
}

int dedup_load(dedup *d, uint64_t msg, uint64_t delivery, int64_t recv_ms)
{
    msg = msg ? msg : 1;
    if (lookup(d, msg)) return 0; /* the table's is a later delivery */
    slot c;
    int cold = cold_lookup(d, msg, recv_ms, &c);
    if (cold) return cold < 0 ? -1 : 0; /* so is the cold part's */
    return insert(d, msg, delivery, recv_ms);
}

int dedup_check(dedup *d, uint64_t msg, uint64_t delivery, int64_t recv_ms)
{
    msg = msg ? msg : 1; /* 0 marks an empty slot */
    if (recv_ms < d->recent_min_ms && d->newest_ms != INT64_MIN &&
        recv_ms < d->newest_ms - d->window_ms)
        d->recent_min_ms = recv_ms; /* an archive's old time: what is near it stays */
    slot *s = lookup(d, msg), c;
    if (!s) { /* the cold part's, if any; past the window it is shadowed by a new entry */
        int cold = cold_lookup(d, msg, recv_ms, &c);
        if (cold < 0) return -1;
        if (cold && !expired(d, &c, recv_ms))
            return c.delivery == (uint32_t)delivery ? DEDUP_SAME_DELIVERY : DEDUP_DUPLICATE;
    }
    if (s && !expired(d, s, recv_ms))
        return s->delivery == (uint32_t)delivery ? DEDUP_SAME_DELIVERY : DEDUP_DUPLICATE;
    if (s) { /* farther than the window: accepted again, now the latest delivery */
        s->delivery = (uint32_t)delivery;
        s->sec = to_sec(d, recv_ms);
        if (recv_ms > d->newest_ms) d->newest_ms = recv_ms;
        if (recv_ms < d->oldest_ms) d->oldest_ms = recv_ms;
        return DEDUP_NEW;
    }
    return insert(d, msg, delivery, recv_ms) ? -1 : DEDUP_NEW;
}

void dedup_remove(dedup *d, uint64_t msg)
{
    msg = msg ? msg : 1; /* 0 marks an empty slot */
    slot *s = find(d->slots, d->cap, 0, msg);
    if (!s) {
        /* in the old table: marked expired, which a lookup takes for absent (slots there
         * stay where they are, or the move's position would skip or repeat some) */
        if (d->old && (s = find(d->old, d->old_cap, d->old_pos, msg)))
            s->sec = EXPIRED;
        else if (d->cold_n && dedup_cold_remove(d->cold, msg))
            cold_failed(d); /* kept: a re-delivery of it is then taken for a duplicate */
        return;
    }
    s->msg = 0;
    d->n--;
    /* Re-insert the rest of the cluster so lookups still find them. */
    for (size_t j = ((size_t)(s - d->slots) + 1) & (d->cap - 1); d->slots[j].msg;
         j = (j + 1) & (d->cap - 1)) {
        slot t = d->slots[j];
        d->slots[j].msg = 0;
        put(d->slots, d->cap, &t);
    }
}

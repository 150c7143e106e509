/* Sessions kept by the silver writer as it writes, for an ingest or a replay into an empty
 * silver: each identity's current session is held in memory and built by the same rules
 * as the recomputation (sessions.c), which want each identity's events in event-time order.
 * Events arrive a little out of it (devices' clocks and networks): an identity's events wait
 * until the newest event time seen is REORDER_MS past theirs, and go in event-time order
 * (then by offset, as the recomputation sorts them). A session that ends is appended with
 * the batch that ended it; the open ones are written when the ingest ends. An identity
 * whose event comes before one already applied (a late event) is set aside, and the end
 * recomputes its sessions from silver; past its memory, or when a batch is rolled back, the
 * tracker gives up and the end recomputes every session, as a refresh always did. Either
 * way the table is the one a recomputation gives. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"

#include <string.h>
#include <xxhash.h>

#define REORDER_MS    120000
#define COMPACT_BYTES 8192 /* an identity's waiting text is copied afresh past this */
#define PEND_FIELDS   9

/* An event waiting to be applied: its fields (user_id, session_id, kind, page_path, the
 * three UTM fields, country, device_type) in its identity's pending text. */
typedef struct pend_ev {
    int64_t time_ms, offset;
    bool is_bot;
    uint32_t off[PEND_FIELDS], len[PEND_FIELDS]; /* len UINT32_MAX: NULL */
} pend_ev;

typedef struct track_entry {
    uint64_t hash; /* of the identity, | 1; 0: an empty slot */
    char *id;      /* the identity */
    uint32_t id_len;
    bool listed;        /* in the list of identities with events waiting */
    int64_t applied_ms; /* event time of the last event applied */
    sess_state st;      /* its current session (open) */
    pend_ev *pend;      /* waiting, by event time then offset */
    size_t n_pend, cap_pend;
    cp_buf pend_text;
} track_entry;

struct sess_track {
    int64_t timeout_ms;
    size_t max_bytes, bytes;
    track_entry *slots;
    size_t cap, n;
    /* the identities set aside: their texts (a length, then the bytes), and where each is
     * by its hash (open addressing) */
    cp_buf aside;
    struct aside_slot {
        uint64_t hash; /* 0: empty */
        size_t at;     /* in aside */
    } * aside_set;
    size_t aside_cap, aside_n;
    int64_t newest_ms, swept_ms; /* the newest event time seen; at the last sweep */
    uint64_t *waiting;           /* hashes of identities with events waiting */
    size_t n_waiting, cap_waiting;
    bool off; /* given up: the end recomputes everything */
};

static size_t entry_bytes(const track_entry *e)
{
    return e->id_len + sess_state_bytes(&e->st) + e->cap_pend * sizeof(pend_ev) + e->pend_text.cap;
}

static void entry_free(track_entry *e)
{
    cp_free(e->id);
    sess_state_free(&e->st);
    cp_free(e->pend);
    cp_buf_free(&e->pend_text);
    memset(e, 0, sizeof(*e));
}

static uint64_t hash_of(cp_slice id)
{
    return XXH3_64bits(id.ptr, id.len) | 1;
}

sess_track *sess_track_new(int64_t timeout_ms, size_t max_bytes)
{
    sess_track *t = cp_calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->timeout_ms = timeout_ms;
    t->max_bytes = max_bytes;
    t->newest_ms = t->swept_ms = INT64_MIN / 2;
    cp_buf_init(&t->aside);
    return t;
}

static void drop_all(sess_track *t)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].hash) entry_free(&t->slots[i]);
    cp_free(t->slots);
    cp_free(t->waiting);
    t->waiting = NULL;
    t->n_waiting = t->cap_waiting = 0;
    cp_free(t->aside_set);
    cp_buf_free(&t->aside);
    t->slots = NULL;
    t->aside_set = NULL;
    t->cap = t->n = t->aside_cap = t->aside_n = t->bytes = 0;
}

void sess_track_free(sess_track *t)
{
    if (!t) return;
    drop_all(t);
    cp_free(t);
}

void sess_track_abandon(sess_track *t)
{
    if (!t || t->off) return;
    drop_all(t);
    t->off = true;
}

bool sess_track_active(const sess_track *t)
{
    return t && !t->off;
}

size_t sess_track_aside(const sess_track *t)
{
    return t ? t->aside_n : 0;
}

size_t sess_track_bytes(const sess_track *t)
{
    return t ? t->bytes : 0;
}

static size_t find(const track_entry *slots, size_t cap, uint64_t h, cp_slice id)
{
    size_t i = h & (cap - 1);
    while (slots[i].hash &&
           !(slots[i].hash == h && cp_slice_eq((cp_slice){slots[i].id, slots[i].id_len}, id)))
        i = (i + 1) & (cap - 1);
    return i;
}

static int grow(sess_track *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    track_entry *s = cp_calloc(cap, sizeof(*s));
    if (!s) return CP_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        track_entry *e = &t->slots[i];
        if (!e->hash) continue;
        size_t k = e->hash & (cap - 1);
        while (s[k].hash) k = (k + 1) & (cap - 1);
        s[k] = *e;
    }
    t->bytes += (cap - t->cap) * sizeof(*s);
    cp_free(t->slots);
    t->slots = s;
    t->cap = cap;
    return CP_OK;
}

static cp_slice aside_text(const sess_track *t, size_t at)
{
    uint32_t n;
    memcpy(&n, t->aside.ptr + at, sizeof(n));
    return (cp_slice){t->aside.ptr + at + sizeof(n), n};
}

/* The slot of id in the set aside: its own, or the empty one it would take. */
static size_t aside_slot(const sess_track *t, uint64_t h, cp_slice id)
{
    size_t i = h & (t->aside_cap - 1);
    while (t->aside_set[i].hash &&
           !(t->aside_set[i].hash == h && cp_slice_eq(aside_text(t, t->aside_set[i].at), id)))
        i = (i + 1) & (t->aside_cap - 1);
    return i;
}

static bool is_aside(const sess_track *t, uint64_t h, cp_slice id)
{
    return t->aside_cap && t->aside_set[aside_slot(t, h, id)].hash;
}

static int set_aside(sess_track *t, uint64_t h, cp_slice id)
{
    if (t->aside_n + 1 > t->aside_cap / 2) {
        size_t cap = t->aside_cap ? t->aside_cap * 2 : 256;
        struct aside_slot *s = cp_calloc(cap, sizeof(*s));
        if (!s) return CP_ENOMEM;
        for (size_t i = 0; i < t->aside_cap; i++) {
            if (!t->aside_set[i].hash) continue;
            size_t k = t->aside_set[i].hash & (cap - 1);
            while (s[k].hash) k = (k + 1) & (cap - 1);
            s[k] = t->aside_set[i];
        }
        t->bytes += (cap - t->aside_cap) * sizeof(*s);
        cp_free(t->aside_set);
        t->aside_set = s;
        t->aside_cap = cap;
    }
    size_t k = aside_slot(t, h, id), before = t->aside.cap;
    if (t->aside_set[k].hash) return CP_OK;
    uint32_t n = (uint32_t)id.len;
    t->aside_set[k] = (struct aside_slot){h, t->aside.len};
    t->aside_n++;
    if (cp_buf_append(&t->aside, (const char *)&n, sizeof(n)) ||
        cp_buf_append(&t->aside, id.ptr, id.len))
        return CP_ENOMEM;
    t->bytes += t->aside.cap - before;
    return CP_OK;
}

/* Removes the entry at slot i (backward-shift deletion keeps the probe chains whole). */
static void remove_at(sess_track *t, size_t i)
{
    t->bytes -= entry_bytes(&t->slots[i]);
    entry_free(&t->slots[i]);
    t->n--;
    for (size_t j = (i + 1) & (t->cap - 1); t->slots[j].hash; j = (j + 1) & (t->cap - 1)) {
        size_t home = t->slots[j].hash & (t->cap - 1);
        /* j's entry may move to i when i lies on its path from home */
        if (((j - home) & (t->cap - 1)) >= ((j - i) & (t->cap - 1))) {
            t->slots[i] = t->slots[j];
            memset(&t->slots[j], 0, sizeof(t->slots[j]));
            i = j;
        }
    }
}

static int emit_closed(void *ud, const cp_session_row *r)
{
    return cp_store_add_batch_session(ud, r);
}

typedef int (*emit_fn)(void *ud, const cp_session_row *r);

/* The waiting events' text copied afresh, without the applied events' (an identity whose
 * events never all drain would otherwise keep every event's). */
static int compact(track_entry *en)
{
    cp_buf t;
    cp_buf_init(&t);
    for (size_t k = 0; k < en->n_pend; k++)
        for (int i = 0; i < PEND_FIELDS; i++) {
            pend_ev *p = &en->pend[k];
            if (p->len[i] == UINT32_MAX) continue;
            uint32_t off = (uint32_t)t.len;
            if (p->len[i] && cp_buf_append(&t, en->pend_text.ptr + p->off[i], p->len[i])) {
                cp_buf_free(&t);
                return CP_ENOMEM;
            }
            p->off[i] = off;
        }
    cp_buf_free(&en->pend_text);
    en->pend_text = t;
    return CP_OK;
}

/* Applies en's waiting events of event time up to upto_ms, in order; emit takes the
 * sessions they end. */
static int apply_due(sess_track *t, track_entry *en, emit_fn emit, cp_store *store, int64_t upto_ms)
{
    size_t k = 0;
    int rc = CP_OK;
    for (; k < en->n_pend && en->pend[k].time_ms <= upto_ms && rc == CP_OK; k++) {
        const pend_ev *p = &en->pend[k];
        cp_slice f[PEND_FIELDS];
        for (int i = 0; i < PEND_FIELDS; i++)
            f[i] = p->len[i] == UINT32_MAX ? CP_SLICE_NULL
                                           : (cp_slice){en->pend_text.ptr + p->off[i], p->len[i]};
        cp_session_event e = {.identity = {en->id, en->id_len},
                              .user_id = f[0],
                              .session_id = f[1],
                              .kind = f[2],
                              .page_path = f[3],
                              .utm_source = f[4],
                              .utm_medium = f[5],
                              .utm_campaign = f[6],
                              .country = f[7],
                              .device_type = f[8],
                              .time_ms = p->time_ms,
                              .offset = p->offset,
                              .is_bot = p->is_bot};
        rc = sess_add(&en->st, t->timeout_ms, &e, emit, store);
        en->applied_ms = p->time_ms;
    }
    if (k) {
        memmove(en->pend, en->pend + k, (en->n_pend - k) * sizeof(*en->pend));
        en->n_pend -= k;
        if (!en->n_pend) { /* nothing waits: nothing held */
            cp_free(en->pend);
            en->pend = NULL;
            en->cap_pend = 0;
            cp_buf_free(&en->pend_text);
        } else if (en->pend_text.len >= COMPACT_BYTES && compact(en)) {
            rc = CP_ENOMEM;
        }
    }
    return rc;
}

/* Adds e to en's waiting events, in event-time order (later offsets after earlier ones). */
static int wait_event(track_entry *en, const cp_session_event *e)
{
    if (cp_grow((void **)&en->pend, &en->cap_pend, en->n_pend + 1, sizeof(*en->pend)))
        return CP_ENOMEM;
    size_t at = en->n_pend;
    while (at > 0 && en->pend[at - 1].time_ms > e->time_ms) at--;
    memmove(en->pend + at + 1, en->pend + at, (en->n_pend - at) * sizeof(*en->pend));
    en->n_pend++;
    pend_ev *p = &en->pend[at];
    *p = (pend_ev){.time_ms = e->time_ms, .offset = e->offset, .is_bot = e->is_bot};
    const cp_slice f[PEND_FIELDS] = {e->user_id,      e->session_id, e->kind,
                                     e->page_path,    e->utm_source, e->utm_medium,
                                     e->utm_campaign, e->country,    e->device_type};
    for (int i = 0; i < PEND_FIELDS; i++) {
        p->off[i] = (uint32_t)en->pend_text.len;
        p->len[i] = f[i].ptr ? (uint32_t)f[i].len : UINT32_MAX;
        if (f[i].len && cp_buf_append(&en->pend_text, f[i].ptr, f[i].len)) return CP_ENOMEM;
    }
    return CP_OK;
}

/* Applies what is due of every identity with events waiting; the list keeps the others. */
static int sweep(sess_track *t, cp_store *store, int64_t upto_ms)
{
    size_t kept = 0;
    int rc = CP_OK;
    for (size_t w = 0; w < t->n_waiting; w++) {
        uint64_t h = t->waiting[w];
        bool waits = false;
        /* every entry of that hash (two identities may share one: applying what is due is
         * right for each) */
        for (size_t i = h & (t->cap - 1); t->slots[i].hash; i = (i + 1) & (t->cap - 1)) {
            track_entry *en = &t->slots[i];
            if (en->hash != h || !en->listed) continue;
            size_t before = entry_bytes(en);
            if (rc == CP_OK) rc = apply_due(t, en, emit_closed, store, upto_ms);
            t->bytes = t->bytes - before + entry_bytes(en);
            en->listed = en->n_pend > 0;
            waits |= en->listed;
        }
        if (waits) t->waiting[kept++] = h;
    }
    t->n_waiting = kept;
    return rc;
}

int sess_track_add(sess_track *t, cp_store *store, const cp_session_event *e)
{
    if (!t || t->off) return CP_OK;
    if (!e->identity.len) { /* not one the rules key on: let the end do it all */
        sess_track_abandon(t);
        return CP_OK;
    }
    uint64_t h = hash_of(e->identity);
    if (is_aside(t, h, e->identity)) return CP_OK;
    if ((t->n + 1) * 2 > t->cap && grow(t)) {
        sess_track_abandon(t);
        return CP_OK;
    }
    size_t i = find(t->slots, t->cap, h, e->identity);
    track_entry *en = &t->slots[i];
    if (en->hash && e->time_ms < en->applied_ms) { /* late: recomputed at the end */
        remove_at(t, i);
        if (set_aside(t, h, e->identity)) sess_track_abandon(t);
        return CP_OK;
    }
    if (!en->hash) {
        if (!(en->id = cp_malloc(e->identity.len))) {
            sess_track_abandon(t);
            return CP_OK;
        }
        memcpy(en->id, e->identity.ptr, e->identity.len);
        en->id_len = (uint32_t)e->identity.len;
        en->hash = h;
        en->applied_ms = INT64_MIN;
        t->n++;
        t->bytes += en->id_len;
    }
    size_t before = entry_bytes(en);
    if (e->time_ms > t->newest_ms) t->newest_ms = e->time_ms;
    int rc = wait_event(en, e);
    if (rc == CP_OK) rc = apply_due(t, en, emit_closed, store, t->newest_ms - REORDER_MS);
    if (rc == CP_OK && en->n_pend && !en->listed) {
        if (cp_grow((void **)&t->waiting, &t->cap_waiting, t->n_waiting + 1, sizeof(*t->waiting)))
            rc = CP_ENOMEM;
        else
            t->waiting[t->n_waiting++] = h, en->listed = true;
    }
    t->bytes = t->bytes - before + entry_bytes(en);
    if (rc == CP_OK && t->newest_ms - t->swept_ms >= REORDER_MS / 4) {
        t->swept_ms = t->newest_ms;
        rc = sweep(t, store, t->newest_ms - REORDER_MS);
    }
    if (rc == CP_ENOMEM) {
        sess_track_abandon(t);
        return CP_OK;
    }
    if (rc) return rc; /* the store's: the batch fails, and the writer abandons us */
    if (t->bytes + t->cap_waiting * sizeof(*t->waiting) > t->max_bytes) sess_track_abandon(t);
    return CP_OK;
}

static int add_row(void *ud, const cp_session_row *r)
{
    return cp_store_add_session(ud, r);
}

int sess_track_finish(sess_track *t, cp_store *s)
{
    if (!t || t->off) return CP_EAGAIN;
    int rc = CP_OK;
    CP_INFO("pipeline",
            "sessions kept as silver was written: %zu open, %zu identities recomputed (events out "
            "of order)",
            t->n, t->aside_n);
    if (t->aside_n) { /* the identities set aside: recomputed from silver */
        cp_slice *ids = cp_calloc(t->aside_n, sizeof(*ids));
        if (!ids) return CP_ENOMEM;
        size_t n = 0;
        for (size_t at = 0; at < t->aside.len; n++) {
            ids[n] = aside_text(t, at);
            at += sizeof(uint32_t) + ids[n].len;
        }
        rc = cp_store_sessions_todo(s, ids, n);
        cp_free(ids);
        if (rc == CP_OK) rc = sessions_refresh(s, t->timeout_ms, CP_SESSIONS_TODO);
        int dropped = cp_store_sessions_todo(s, NULL, 0);
        if (rc == CP_OK) rc = dropped;
    }
    /* what still waits, then the open sessions: no row of theirs is in the table yet */
    if (rc == CP_OK) rc = cp_store_sessions_begin(s, CP_SESSIONS_NONE);
    if (rc == CP_OK) {
        for (size_t i = 0; i < t->cap && rc == CP_OK; i++) {
            track_entry *en = &t->slots[i];
            if (!en->hash) continue;
            rc = apply_due(t, en, add_row, s, INT64_MAX);
            if (rc == CP_OK) rc = sess_close(&en->st, add_row, s);
        }
        int end = cp_store_sessions_end(s, rc == CP_OK);
        if (rc == CP_OK) rc = end;
    }
    sess_track_abandon(t); /* done: later refreshes recompute what changes */
    return rc;
}

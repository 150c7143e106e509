/* Customers and the identity map kept by the silver writer as it writes, for an ingest or a
 * replay into an empty silver (beside the sessions, session_track.c): each figure is a
 * minimum, a maximum, a count or the value at the latest (or earliest) event time, ties by
 * log offset, so events may come in any order. The end writes both tables whole; past its
 * memory, or when a batch is rolled back, the tracker gives up and the end recomputes them
 * with SQL (cp_store_refresh_derived), which gives the same rows. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <string.h>
#include <xxhash.h>

/* The start of every entry: its key. */
typedef struct key_head {
    uint64_t hash; /* | 1; 0: an empty slot */
    char *id;
    uint32_t id_len;
} key_head;

/* A value with the (event time, offset) it is ordered by. */
typedef struct stamped {
    char *v; /* NULL: none yet */
    uint32_t len;
    int64_t ms, offset;
} stamped;

enum { P_EMAIL, P_DOMAIN, P_NAME, P_COUNTRY, P__COUNT };

typedef struct user_entry {
    key_head k;
    stamped latest[P__COUNT]; /* each field's value at its latest event that has one */
    int64_t first_ms, last_ms, signed_up_ms, events, last_offset;
    int64_t linked_ms; /* the earliest event of an anonymous id linked to the user */
} user_entry;

typedef struct anon_entry {
    key_head k;
    bool seen;
    int64_t first_ms; /* its earliest event */
    stamped link;     /* the user of its earliest event that names one (by time, offset) */
} anon_entry;

typedef struct table {
    void *slots;
    size_t size, cap, n;
} table;

struct people_track {
    table users, anons;
    size_t max_bytes, bytes;
    bool off;
};

people_track *people_track_new(size_t max_bytes)
{
    people_track *t = cp_calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->users.size = sizeof(user_entry);
    t->anons.size = sizeof(anon_entry);
    t->max_bytes = max_bytes;
    return t;
}

static key_head *at(const table *tb, size_t i)
{
    return (key_head *)(void *)((char *)tb->slots + i * tb->size);
}

static void free_table(table *tb, bool users)
{
    for (size_t i = 0; i < tb->cap; i++) {
        key_head *k = at(tb, i);
        if (!k->hash) continue;
        cp_free(k->id);
        if (users)
            for (int f = 0; f < P__COUNT; f++) cp_free(((user_entry *)(void *)k)->latest[f].v);
        else
            cp_free(((anon_entry *)(void *)k)->link.v);
    }
    cp_free(tb->slots);
    tb->slots = NULL;
    tb->cap = tb->n = 0;
}

void people_track_abandon(people_track *t)
{
    if (!t || t->off) return;
    free_table(&t->users, true);
    free_table(&t->anons, false);
    t->bytes = 0;
    t->off = true;
}

void people_track_free(people_track *t)
{
    if (!t) return;
    people_track_abandon(t);
    cp_free(t);
}

bool people_track_active(const people_track *t)
{
    return t && !t->off;
}

static size_t slot(const table *tb, uint64_t h, cp_slice id)
{
    size_t i = h & (tb->cap - 1);
    for (;; i = (i + 1) & (tb->cap - 1)) {
        const key_head *k = at(tb, i);
        if (!k->hash || (k->hash == h && cp_slice_eq((cp_slice){k->id, k->id_len}, id))) return i;
    }
}

/* The entry of id, made (zeroed but for its key) when new; NULL when out of memory. */
static key_head *entry(people_track *t, table *tb, cp_slice id)
{
    if ((tb->n + 1) * 2 > tb->cap) {
        size_t cap = tb->cap ? tb->cap * 2 : 1024;
        void *s = cp_calloc(cap, tb->size);
        if (!s) return NULL;
        for (size_t i = 0; i < tb->cap; i++) {
            key_head *k = at(tb, i);
            if (!k->hash) continue;
            size_t j = k->hash & (cap - 1);
            while (((key_head *)(void *)((char *)s + j * tb->size))->hash) j = (j + 1) & (cap - 1);
            memcpy((char *)s + j * tb->size, k, tb->size);
        }
        t->bytes += (cap - tb->cap) * tb->size;
        cp_free(tb->slots);
        tb->slots = s;
        tb->cap = cap;
    }
    uint64_t h = XXH3_64bits(id.ptr, id.len) | 1;
    key_head *k = at(tb, slot(tb, h, id));
    if (k->hash) return k;
    if (!(k->id = cp_malloc(id.len ? id.len : 1))) return NULL;
    memcpy(k->id, id.ptr, id.len);
    k->id_len = (uint32_t)id.len;
    k->hash = h;
    tb->n++;
    t->bytes += cp_alloc_cost(id.len);
    return k;
}

/* Keeps v when (ms, offset) comes after (latest) or before (!latest) what is kept. */
static int stamp(people_track *t, stamped *s, cp_slice v, int64_t ms, int64_t offset, bool latest)
{
    if (s->v) {
        bool after = ms > s->ms || (ms == s->ms && offset > s->offset);
        if (after != latest) return CP_OK;
    }
    if (!s->v || s->len != v.len || memcmp(s->v, v.ptr, v.len) != 0) {
        char *c = cp_malloc(v.len ? v.len : 1);
        if (!c) return CP_ENOMEM;
        memcpy(c, v.ptr, v.len);
        if (s->v) t->bytes -= cp_alloc_cost(s->len);
        cp_free(s->v);
        s->v = c;
        s->len = (uint32_t)v.len;
        t->bytes += cp_alloc_cost(v.len);
    }
    s->ms = ms;
    s->offset = offset;
    return CP_OK;
}

static int add(people_track *t, const cp_silver_event *e)
{
    int64_t ms = e->event_time_ms, off = e->offset;
    if (e->user_id.ptr) {
        user_entry *u = (user_entry *)(void *)entry(t, &t->users, e->user_id);
        if (!u) return CP_ENOMEM;
        if (!u->events) {
            u->first_ms = u->last_ms = ms;
            u->signed_up_ms = u->linked_ms = INT64_MIN;
            u->last_offset = off;
        }
        u->first_ms = ms < u->first_ms ? ms : u->first_ms;
        u->last_ms = ms > u->last_ms ? ms : u->last_ms;
        u->last_offset = off > u->last_offset ? off : u->last_offset;
        u->events++;
        if (cp_slice_eq_lit(e->kind, "signed_up") &&
            (u->signed_up_ms == INT64_MIN || ms < u->signed_up_ms))
            u->signed_up_ms = ms;
        const cp_slice f[P__COUNT] = {e->email, e->email_domain, e->name, e->country};
        for (int i = 0; i < P__COUNT; i++)
            if (f[i].ptr && stamp(t, &u->latest[i], f[i], ms, off, true)) return CP_ENOMEM;
    }
    if (e->anonymous_id.ptr) {
        anon_entry *a = (anon_entry *)(void *)entry(t, &t->anons, e->anonymous_id);
        if (!a) return CP_ENOMEM;
        if (!a->seen || ms < a->first_ms) a->first_ms = ms;
        a->seen = true;
        if (e->user_id.ptr && stamp(t, &a->link, e->user_id, ms, off, false)) return CP_ENOMEM;
    }
    return CP_OK;
}

void people_track_add(people_track *t, const cp_silver_event *e)
{
    if (!t || t->off) return;
    if (add(t, e) || t->bytes > t->max_bytes) people_track_abandon(t);
}

static cp_slice text(const stamped *s)
{
    return s->v ? (cp_slice){s->v, s->len} : CP_SLICE_NULL;
}

int people_track_finish(people_track *t, cp_store *s, int64_t upto)
{
    if (!t || t->off) return CP_EAGAIN;
    /* a customer's first_seen counts the devices linked to them */
    for (size_t i = 0; i < t->anons.cap; i++) {
        anon_entry *a = (anon_entry *)(void *)at(&t->anons, i);
        if (!a->k.hash || !a->link.v) continue;
        user_entry *u = (user_entry *)(void *)at(
            &t->users, slot(&t->users, XXH3_64bits(a->link.v, a->link.len) | 1, text(&a->link)));
        if (u->k.hash && (u->linked_ms == INT64_MIN || a->first_ms < u->linked_ms))
            u->linked_ms = a->first_ms;
    }
    int rc = cp_store_people_begin(s), begun = rc == CP_OK;
    for (size_t i = 0; i < t->anons.cap && rc == CP_OK; i++) {
        anon_entry *a = (anon_entry *)(void *)at(&t->anons, i);
        if (a->k.hash && a->link.v)
            rc = cp_store_add_identity(s, (cp_slice){a->k.id, a->k.id_len}, text(&a->link),
                                       a->link.ms);
    }
    for (size_t i = 0; i < t->users.cap && rc == CP_OK; i++) {
        user_entry *u = (user_entry *)(void *)at(&t->users, i);
        if (!u->k.hash) continue;
        cp_customer_row c = {.user_id = {u->k.id, u->k.id_len},
                             .email = text(&u->latest[P_EMAIL]),
                             .email_domain = text(&u->latest[P_DOMAIN]),
                             .name = text(&u->latest[P_NAME]),
                             .country = text(&u->latest[P_COUNTRY]),
                             .first_ms = u->linked_ms != INT64_MIN && u->linked_ms < u->first_ms
                                             ? u->linked_ms
                                             : u->first_ms,
                             .last_ms = u->last_ms,
                             .signed_up_ms = u->signed_up_ms,
                             .events = u->events,
                             .last_offset = u->last_offset};
        rc = cp_store_add_customer(s, &c);
    }
    if (begun) {
        int end = cp_store_people_end(s, upto, rc == CP_OK);
        if (rc == CP_OK) rc = end;
    }
    people_track_abandon(t); /* done: later refreshes recompute what changes */
    return rc;
}

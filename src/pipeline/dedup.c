/* The dedup window: an open-addressing table of 64-bit messageId hashes with
 * the delivery hash and receive time of the first delivery. When the table
 * fills it first drops entries older than the window (relative to the newest
 * receive time seen), and grows only if that is not enough. */
#include "internal.h"

#include "clickpulse/mem.h"

#include <string.h>

typedef struct slot {
    uint64_t msg; /* 0 = empty (hashes are never 0) */
    uint64_t delivery;
    int64_t recv_ms;
} slot;

struct dedup {
    slot *slots;
    size_t cap, n;
    int64_t window_ms, newest_ms;
};

dedup *dedup_new(int64_t window_ms)
{
    dedup *d = cp_calloc(1, sizeof(*d));
    if (!d) return NULL;
    d->cap = 1 << 16;
    d->window_ms = window_ms;
    d->newest_ms = INT64_MIN;
    if (!(d->slots = cp_calloc(d->cap, sizeof(slot)))) {
        cp_free(d);
        return NULL;
    }
    return d;
}

void dedup_free(dedup *d)
{
    if (!d) return;
    cp_free(d->slots);
    cp_free(d);
}

size_t dedup_size(const dedup *d)
{
    return d->n;
}

static void put(slot *slots, size_t cap, const slot *s)
{
    size_t i = s->msg & (cap - 1);
    while (slots[i].msg) i = (i + 1) & (cap - 1);
    slots[i] = *s;
}

/* Rebuilds the table at cap, keeping only entries inside the window. */
static int rebuild(dedup *d, size_t cap)
{
    slot *ns = cp_calloc(cap, sizeof(slot));
    if (!ns) return -1;
    int64_t oldest = d->newest_ms - d->window_ms;
    size_t n = 0;
    for (size_t i = 0; i < d->cap; i++) {
        if (!d->slots[i].msg || d->slots[i].recv_ms < oldest) continue;
        put(ns, cap, &d->slots[i]);
        n++;
    }
    cp_free(d->slots);
    d->slots = ns;
    d->cap = cap;
    d->n = n;
    return 0;
}

static int make_room(dedup *d)
{
    if (d->n + 1 <= d->cap / 10 * 7) return 0;
    if (rebuild(d, d->cap)) return -1; /* sweep first */
    if (d->n + 1 <= d->cap / 2) return 0;
    return rebuild(d, d->cap * 2);
}

int dedup_check(dedup *d, uint64_t msg, uint64_t delivery, int64_t recv_ms)
{
    msg = msg ? msg : 1; /* 0 marks an empty slot */
    size_t i = msg & (d->cap - 1);
    for (; d->slots[i].msg; i = (i + 1) & (d->cap - 1)) {
        if (d->slots[i].msg != msg) continue;
        if (recv_ms - d->slots[i].recv_ms <= d->window_ms)
            return d->slots[i].delivery == delivery ? DEDUP_SAME_DELIVERY : DEDUP_DUPLICATE;
        d->slots[i].delivery = delivery; /* expired: a new first delivery */
        d->slots[i].recv_ms = recv_ms;
        return DEDUP_NEW;
    }
    if (make_room(d)) return -1;
    if (recv_ms > d->newest_ms) d->newest_ms = recv_ms;
    slot s = {msg, delivery, recv_ms};
    put(d->slots, d->cap, &s);
    d->n++;
    return DEDUP_NEW;
}

int64_t dedup_newest(const dedup *d)
{
    return d->newest_ms;
}

void dedup_remove(dedup *d, uint64_t msg)
{
    msg = msg ? msg : 1; /* 0 marks an empty slot */
    size_t i = msg & (d->cap - 1);
    while (d->slots[i].msg && d->slots[i].msg != msg) i = (i + 1) & (d->cap - 1);
    if (!d->slots[i].msg) return;
    d->slots[i].msg = 0;
    d->n--;
    /* Re-insert the rest of the cluster so lookups still find them. */
    for (size_t j = (i + 1) & (d->cap - 1); d->slots[j].msg; j = (j + 1) & (d->cap - 1)) {
        slot s = d->slots[j];
        d->slots[j].msg = 0;
        put(d->slots, d->cap, &s);
    }
}

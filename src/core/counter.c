/* Counting by key (see include/clickpulse/counter.h). */
#include "clickpulse/counter.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void cp_counter_init(cp_counter *c, uint32_t limit)
{
    memset(c, 0, sizeof(*c));
    c->limit = limit ? limit : 1;
}

void cp_counter_clear(cp_counter *c)
{
    for (uint32_t i = 0; i < c->count; i++) cp_free(c->entries[i].key);
    c->count = 0;
    if (c->index) memset(c->index, 0, (size_t)(c->mask + 1) * sizeof(*c->index));
    memset(&c->other, 0, sizeof(c->other));
}

void cp_counter_free(cp_counter *c)
{
    cp_counter_clear(c);
    cp_free(c->entries);
    cp_free(c->index);
    cp_counter_init(c, c->limit);
}

static int grow(cp_counter *c)
{
    uint32_t cap = c->cap ? c->cap * 2 : 16, slots = cap * 2;
    cp_counter_entry *e = cp_realloc(c->entries, (size_t)cap * sizeof(*e));
    if (!e) return CP_ENOMEM;
    c->entries = e;
    uint32_t *ix = cp_calloc(slots, sizeof(*ix));
    if (!ix) return CP_ENOMEM;
    cp_free(c->index);
    c->index = ix;
    c->cap = cap;
    c->mask = slots - 1;
    for (uint32_t i = 0; i < c->count; i++) {
        uint32_t s = (uint32_t)c->entries[i].hash & c->mask;
        while (ix[s]) s = (s + 1) & c->mask;
        ix[s] = i + 1;
    }
    return CP_OK;
}

static void add_to(cp_counter_entry *e, int64_t n, int64_t orders, int64_t revenue)
{
    e->n += n;
    e->orders += orders;
    e->revenue += revenue;
}

static int add_hashed(cp_counter *c, cp_slice key, uint64_t h, int64_t n, int64_t orders,
                      int64_t revenue)
{
    if (c->index) {
        for (uint32_t s = (uint32_t)h & c->mask; c->index[s]; s = (s + 1) & c->mask) {
            cp_counter_entry *e = &c->entries[c->index[s] - 1];
            if (e->hash == h && e->len == key.len && memcmp(e->key, key.ptr, key.len) == 0) {
                add_to(e, n, orders, revenue);
                return CP_OK;
            }
        }
    }
    if (c->count >= c->limit || (c->count == c->cap && grow(c))) {
        add_to(&c->other, n, orders, revenue);
        return c->count >= c->limit ? CP_OK : CP_ENOMEM;
    }
    char *k = cp_malloc(key.len + 1);
    if (!k) {
        add_to(&c->other, n, orders, revenue);
        return CP_ENOMEM;
    }
    memcpy(k, key.ptr, key.len);
    k[key.len] = 0;
    cp_counter_entry *e = &c->entries[c->count];
    *e = (cp_counter_entry){.key = k, .len = (uint32_t)key.len, .hash = h};
    add_to(e, n, orders, revenue);
    uint32_t s = (uint32_t)h & c->mask;
    while (c->index[s]) s = (s + 1) & c->mask;
    c->index[s] = ++c->count;
    return CP_OK;
}

int cp_counter_add(cp_counter *c, cp_slice key, int64_t n, int64_t orders, int64_t revenue)
{
    return add_hashed(c, key, XXH3_64bits(key.ptr, key.len), n, orders, revenue);
}

int cp_counter_merge(cp_counter *into, const cp_counter *from)
{
    int rc = CP_OK;
    for (uint32_t i = 0; i < from->count; i++) {
        const cp_counter_entry *e = &from->entries[i];
        int r = add_hashed(into, (cp_slice){e->key, e->len}, e->hash, e->n, e->orders, e->revenue);
        if (r) rc = r;
    }
    add_to(&into->other, from->other.n, from->other.orders, from->other.revenue);
    return rc;
}

static int before(const cp_counter_entry *a, const cp_counter_entry *b)
{
    if (a->n != b->n) return a->n > b->n;
    if (a->revenue != b->revenue) return a->revenue > b->revenue;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->key, b->key, n);
    return c ? c < 0 : a->len < b->len;
}

uint32_t cp_counter_top(const cp_counter *c, uint32_t k, const cp_counter_entry **out)
{
    uint32_t have = 0;
    if (!k) return 0;
    for (uint32_t i = 0; i < c->count; i++) {
        const cp_counter_entry *e = &c->entries[i];
        if (have == k && !before(e, out[k - 1])) continue;
        uint32_t at = have < k ? have++ : k - 1; /* insertion into the sorted prefix */
        while (at > 0 && before(e, out[at - 1])) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = e;
    }
    return have;
}

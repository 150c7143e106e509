/* Counting by key (see include/clickpulse/counter.h). */
#include "clickpulse/counter.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void cp_counter_init(cp_counter *c, uint32_t limit, cp_budget *budget)
{
    memset(c, 0, sizeof(*c));
    c->limit = limit ? limit : 1;
    c->budget = budget;
}

/* What the tables cost at capacity cap (entries, and an index of twice as many slots). */
static size_t tables_cost(uint32_t cap)
{
    if (!cap) return 0;
    return cp_alloc_cost((size_t)cap * sizeof(cp_counter_entry)) +
           cp_alloc_cost((size_t)cap * 2 * sizeof(uint32_t));
}

void cp_counter_clear(cp_counter *c)
{
    for (uint32_t i = 0; i < c->count; i++) {
        cp_budget_give(c->budget, cp_alloc_cost(c->entries[i].len + 1));
        cp_free(c->entries[i].key);
    }
    c->count = 0;
    if (c->index) memset(c->index, 0, (size_t)(c->mask + 1) * sizeof(*c->index));
    memset(&c->other, 0, sizeof(c->other));
}

void cp_counter_free(cp_counter *c)
{
    cp_counter_clear(c);
    cp_budget_give(c->budget, tables_cost(c->cap));
    cp_free(c->entries);
    cp_free(c->index);
    cp_counter_init(c, c->limit, c->budget);
}

static int grow(cp_counter *c)
{
    uint32_t cap = c->cap ? c->cap * 2 : 16, slots = cap * 2;
    size_t more = tables_cost(cap) - tables_cost(c->cap);
    if (!cp_budget_take(c->budget, more)) return CP_EFULL;
    cp_counter_entry *e = cp_realloc(c->entries, (size_t)cap * sizeof(*e));
    uint32_t *ix = e ? cp_calloc(slots, sizeof(*ix)) : NULL;
    if (e) c->entries = e;
    if (!ix) {
        cp_budget_give(c->budget, more);
        return CP_ENOMEM;
    }
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
    int rc = c->count >= c->limit ? CP_EFULL : c->count == c->cap ? grow(c) : CP_OK;
    if (rc == CP_OK && !cp_budget_take(c->budget, cp_alloc_cost(key.len + 1))) rc = CP_EFULL;
    char *k = rc == CP_OK ? cp_malloc(key.len + 1) : NULL;
    if (!k) {
        if (rc == CP_OK) {
            cp_budget_give(c->budget, cp_alloc_cost(key.len + 1));
            rc = CP_ENOMEM;
        }
        add_to(&c->other, n, orders, revenue);
        return rc == CP_EFULL && c->count >= c->limit ? CP_OK : rc;
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

static int before(const cp_counter_entry *a, const cp_counter_entry *b);

int cp_counter_trim(cp_counter *c, uint32_t keep)
{
    if (c->count <= keep) return CP_OK;
    uint32_t cap = 16;
    while (cap < keep) cap *= 2;
    const cp_counter_entry **top = keep ? cp_calloc(keep, sizeof(*top)) : NULL;
    cp_counter_entry *e = cp_calloc(cap, sizeof(*e));
    uint32_t *ix = cp_calloc((size_t)cap * 2, sizeof(*ix));
    if (!e || !ix || (keep && !top)) {
        cp_free(top), cp_free(e), cp_free(ix);
        return CP_ENOMEM;
    }
    uint32_t n = cp_counter_top(c, keep, top);
    for (uint32_t i = 0; i < n; i++) {
        e[i] = *top[i];
        c->entries[top[i] - c->entries].key = NULL; /* moved */
    }
    for (uint32_t i = 0; i < c->count; i++) { /* the rest: their figures to other */
        cp_counter_entry *x = &c->entries[i];
        if (!x->key) continue;
        add_to(&c->other, x->n, x->orders, x->revenue);
        cp_budget_give(c->budget, cp_alloc_cost(x->len + 1));
        cp_free(x->key);
    }
    cp_free(top);
    if (c->budget) c->budget->used = c->budget->used - tables_cost(c->cap) + tables_cost(cap);
    cp_free(c->entries);
    cp_free(c->index);
    c->entries = e;
    c->index = ix;
    c->cap = cap;
    c->mask = cap * 2 - 1;
    c->count = n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t s = (uint32_t)e[i].hash & c->mask;
        while (ix[s]) s = (s + 1) & c->mask;
        ix[s] = i + 1;
    }
    return CP_OK;
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

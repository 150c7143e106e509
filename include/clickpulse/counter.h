/* Counting by key: a hash map from a string to a count, an order count and a
 * revenue, bounded in keys. Keys past the bound are summed into "other", so
 * totals stay exact and every tracked key's figures too. Used for top pages,
 * products and referrers and for countries; maps merge. Not thread-safe. */
#ifndef CLICKPULSE_COUNTER_H
#define CLICKPULSE_COUNTER_H

#include "clickpulse/mem.h"
#include "clickpulse/str.h"

#include <stdint.h>

typedef struct cp_counter_entry {
    char *key;
    uint32_t len;
    uint64_t hash;
    int64_t n, orders;
    int64_t revenue; /* hundredths (clickpulse/money.h) */
} cp_counter_entry;

typedef struct cp_counter {
    cp_counter_entry *entries; /* dense, in insertion order */
    uint32_t *index;           /* open addressing: entry + 1, 0 = empty */
    uint32_t count, cap, mask, limit;
    cp_counter_entry other; /* what keys past the limit added (key NULL) */
    cp_budget *budget;      /* charged for the keys and tables; NULL: none */
} cp_counter;

/* limit: most keys tracked (at least 1). budget: shared with other counters (and
 * anything else of its owner) — a key that does not fit in it is counted in other, like
 * one past the limit; NULL: bounded by the limit alone. */
void cp_counter_init(cp_counter *c, uint32_t limit, cp_budget *budget);
void cp_counter_free(cp_counter *c);
void cp_counter_clear(cp_counter *c);
/* Adds to key's figures; returns 0, CP_EFULL when a new key found no room in the budget,
 * or CP_ENOMEM (nothing is lost either way: it went to other). */
int cp_counter_add(cp_counter *c, cp_slice key, int64_t n, int64_t orders, int64_t revenue);
/* Keeps the keep keys cp_counter_top ranks first, adds the others to other and gives their
 * memory back (the tables shrink to fit). Returns 0 or CP_ENOMEM (nothing changed then). */
int cp_counter_trim(cp_counter *c, uint32_t keep);
int cp_counter_merge(cp_counter *into, const cp_counter *from);
/* The k entries with the largest n (ties: larger revenue, then key order) into out;
 * returns how many. The pointers stay valid until the counter changes. */
uint32_t cp_counter_top(const cp_counter *c, uint32_t k, const cp_counter_entry **out);

#endif

/* src/core/counter.c: counts by key, the key limit with "other", merging and
 * the top entries in order. */
#include "clickpulse/counter.h"
#include "clickpulse/error.h"
#include "test.h"

#include <stdio.h>

static void test_counts_top_limit(void)
{
    cp_counter c;
    cp_counter_init(&c, 3, NULL);
    CHECK_INT(cp_counter_add(&c, CP_SLICE_LIT("/"), 1, 0, 0), CP_OK);
    CHECK_INT(cp_counter_add(&c, CP_SLICE_LIT("/p/1"), 2, 1, 950), CP_OK);
    CHECK_INT(cp_counter_add(&c, CP_SLICE_LIT("/"), 2, 0, 0), CP_OK);
    CHECK_INT(cp_counter_add(&c, CP_SLICE_LIT("/cart"), 1, 0, 0), CP_OK);
    CHECK_INT(cp_counter_add(&c, CP_SLICE_LIT("/beyond"), 4, 1, 150), CP_OK); /* past the limit */
    CHECK_INT(c.count, 3);
    CHECK_INT(c.other.n, 4);
    CHECK_INT(c.other.orders, 1);
    const cp_counter_entry *top[5];
    CHECK_INT(cp_counter_top(&c, 5, top), 3);
    CHECK_STR(top[0]->key, "/");
    CHECK_INT(top[0]->n, 3);
    CHECK_STR(top[1]->key, "/p/1");
    CHECK_INT(top[1]->revenue, 950);
    CHECK_STR(top[2]->key, "/cart");
    CHECK_INT(cp_counter_top(&c, 1, top), 1);
    CHECK_STR(top[0]->key, "/");
    CHECK_INT(cp_counter_top(&c, 0, top), 0);

    cp_counter m;
    cp_counter_init(&m, 100, NULL);
    CHECK_INT(cp_counter_add(&m, CP_SLICE_LIT("/cart"), 5, 0, 0), CP_OK);
    CHECK_INT(cp_counter_merge(&m, &c), CP_OK);
    CHECK_INT(cp_counter_top(&m, 5, top), 3);
    CHECK_STR(top[0]->key, "/cart");
    CHECK_INT(top[0]->n, 6);
    CHECK_INT(m.other.n, 4);
    /* ties: larger revenue first, then key order */
    cp_counter t;
    cp_counter_init(&t, 10, NULL);
    cp_counter_add(&t, CP_SLICE_LIT("b"), 1, 0, 0);
    cp_counter_add(&t, CP_SLICE_LIT("a"), 1, 0, 0);
    cp_counter_add(&t, CP_SLICE_LIT("c"), 1, 0, 2);
    CHECK_INT(cp_counter_top(&t, 3, top), 3);
    CHECK_STR(top[0]->key, "c");
    CHECK_STR(top[1]->key, "a");
    CHECK_STR(top[2]->key, "b");
    cp_counter_free(&t);
    cp_counter_free(&m);
    cp_counter_free(&c);
}

static void test_growth(void)
{
    cp_counter c;
    cp_counter_init(&c, 100000, NULL);
    char k[32];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 5000; i++) {
            int n = snprintf(k, sizeof(k), "key-%d", i);
            CHECK_INT(cp_counter_add(&c, (cp_slice){k, (size_t)n}, i, 0, 0), CP_OK);
        }
    CHECK_INT(c.count, 5000);
    const cp_counter_entry *top[2];
    CHECK_INT(cp_counter_top(&c, 2, top), 2);
    CHECK_STR(top[0]->key, "key-4999");
    CHECK_INT(top[0]->n, 3 * 4999);
    CHECK_STR(top[1]->key, "key-4998");
    cp_counter_clear(&c);
    CHECK_INT(c.count, 0);
    CHECK_INT(cp_counter_add(&c, CP_SLICE_LIT("key-1"), 1, 0, 0), CP_OK);
    CHECK_INT(cp_counter_top(&c, 2, top), 1);
    CHECK_INT(top[0]->n, 1);
    cp_counter_free(&c);
}

/* Two counters sharing a budget: keys that do not fit are counted in other (totals stay
 * exact), the budget is never passed, and freeing gives every byte back. */
static void test_budget(void)
{
    cp_budget budget = {.max = 8192};
    cp_counter a, b;
    cp_counter_init(&a, 4096, &budget);
    cp_counter_init(&b, 4096, &budget);
    char k[32];
    int64_t total = 0;
    int full = 0;
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(k, sizeof(k), "/page/%d", i);
        int rc = cp_counter_add(i % 2 ? &a : &b, (cp_slice){k, (size_t)n}, 2, 0, 0);
        CHECK(rc == CP_OK || rc == CP_EFULL);
        full += rc == CP_EFULL;
        total += 2;
        CHECK(budget.used <= budget.max);
    }
    CHECK(a.count > 0 && b.count > 0);
    CHECK_INT(a.count + b.count + (uint32_t)full, 1000);
    int64_t sum = a.other.n + b.other.n;
    for (uint32_t i = 0; i < a.count; i++) sum += a.entries[i].n;
    for (uint32_t i = 0; i < b.count; i++) sum += b.entries[i].n;
    CHECK_INT(sum, total);
    /* a tracked key still counts as itself once the budget is spent */
    uint32_t tracked = a.count;
    CHECK_INT(cp_counter_add(&a, (cp_slice){a.entries[0].key, a.entries[0].len}, 5, 0, 0), CP_OK);
    CHECK_INT(a.entries[0].n, 7);
    CHECK_INT(a.count, tracked);
    /* trimmed to its two largest: the rest to other, their memory back */
    CHECK_INT(cp_counter_add(&a, (cp_slice){a.entries[3].key, a.entries[3].len}, 9, 1, 100), CP_OK);
    char third[32];
    snprintf(third, sizeof(third), "%s", a.entries[3].key);
    int64_t other = a.other.n, in_a = a.other.n;
    for (uint32_t i = 0; i < a.count; i++) in_a += a.entries[i].n;
    size_t used = budget.used;
    CHECK_INT(cp_counter_trim(&a, 2), CP_OK);
    CHECK_INT(a.count, 2);
    CHECK_STR(a.entries[0].key, third); /* 11 */
    CHECK_INT(a.entries[0].orders, 1);
    CHECK_INT(a.entries[1].n, 7);
    CHECK_INT(a.other.n, in_a - 11 - 7);
    CHECK(a.other.n > other);
    CHECK(budget.used < used);
    CHECK_INT(cp_counter_add(&a, (cp_slice){third, strlen(third)}, 1, 0, 0), CP_OK);
    CHECK_INT(a.entries[0].n, 12); /* found through the rebuilt index */
    tracked = a.count;
    /* what one frees, the other can take */
    cp_counter_free(&b);
    size_t before = budget.used;
    CHECK_INT(cp_counter_add(&a, CP_SLICE_LIT("/new"), 1, 0, 0), CP_OK);
    CHECK_INT(a.count, tracked + 1);
    CHECK(budget.used > before);
    cp_counter_free(&a);
    CHECK_INT(budget.used, 0);
}

int main(void)
{
    RUN(test_counts_top_limit);
    RUN(test_growth);
    RUN(test_budget);
    TEST_END();
}

/* src/core/counter.c: counts by key, the key limit with "other", merging and
 * the top entries in order. */
#include "clickpulse/counter.h"
#include "clickpulse/error.h"
#include "test.h"

#include <stdio.h>

static void test_counts_top_limit(void)
{
    cp_counter c;
    cp_counter_init(&c, 3);
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
    cp_counter_init(&m, 100);
    CHECK_INT(cp_counter_add(&m, CP_SLICE_LIT("/cart"), 5, 0, 0), CP_OK);
    CHECK_INT(cp_counter_merge(&m, &c), CP_OK);
    CHECK_INT(cp_counter_top(&m, 5, top), 3);
    CHECK_STR(top[0]->key, "/cart");
    CHECK_INT(top[0]->n, 6);
    CHECK_INT(m.other.n, 4);
    /* ties: larger revenue first, then key order */
    cp_counter t;
    cp_counter_init(&t, 10);
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
    cp_counter_init(&c, 100000);
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

int main(void)
{
    RUN(test_counts_top_limit);
    RUN(test_growth);
    TEST_END();
}

/* src/core/hll.c: estimates within the stated error, near-exact small counts,
 * merges equal to adding everything, and the stored form round-trips. */
#include "clickpulse/error.h"
#include "clickpulse/hll.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static uint64_t h(const char *prefix, int i)
{
    char k[64];
    int n = snprintf(k, sizeof(k), "%s-%d", prefix, i);
    return XXH3_64bits(k, (size_t)n);
}

static cp_hll *filled(const char *prefix, int from, int to)
{
    cp_hll *s = calloc(1, sizeof(*s));
    for (int i = from; i < to; i++) cp_hll_add(s, h(prefix, i));
    return s;
}

static void test_estimates(void)
{
    cp_hll *s = filled("u", 0, 0);
    CHECK(cp_hll_count(s) == 0);
    free(s);
    s = filled("u", 0, 10);
    CHECK_INT(llround(cp_hll_count(s)), 10);
    for (int i = 0; i < 10; i++) cp_hll_add(s, h("u", i)); /* the same again: no change */
    CHECK_INT(llround(cp_hll_count(s)), 10);
    free(s);
    static const int sizes[] = {1000, 20000, 100000, 1000000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        s = filled("visitor", 0, sizes[i]);
        double err = fabs(cp_hll_count(s) - sizes[i]) / sizes[i];
        if (err > 0.02) fprintf(stderr, "n=%d error %.4f\n", sizes[i], err);
        CHECK(err <= 0.02);
        free(s);
    }
}

static void test_merge_and_storage(void)
{
    cp_hll *a = filled("m", 0, 6000), *b = filled("m", 3000, 9000), *all = filled("m", 0, 9000);
    cp_hll_merge(a, b);
    CHECK(memcmp(a->reg, all->reg, sizeof(a->reg)) == 0);
    for (int n = 0; n < 2; n++) { /* sparse (few registers) and dense */
        cp_hll *src = n ? all : filled("s", 0, 50), *back = calloc(1, sizeof(*back));
        cp_buf buf;
        cp_buf_init(&buf);
        CHECK_INT(cp_hll_serialize(src, &buf), CP_OK);
        CHECK_INT(buf.len, n ? 1 + CP_HLL_REGISTERS : 1 + 3 * 50);
        CHECK_INT(cp_hll_merge_serialized(back, buf.ptr, buf.len), CP_OK);
        CHECK(memcmp(back->reg, src->reg, sizeof(src->reg)) == 0);
        CHECK_INT(cp_hll_merge_serialized(back, buf.ptr, buf.len - 1), CP_ECORRUPT);
        CHECK_INT(cp_hll_merge_serialized(back, "X", 1), CP_ECORRUPT);
        CHECK_INT(cp_hll_merge_serialized(back, "S\xff\xff\x01", 4), CP_ECORRUPT);
        cp_buf_free(&buf);
        if (!n) free(src);
        free(back);
    }
    free(a);
    free(b);
    free(all);
}

int main(void)
{
    RUN(test_estimates);
    RUN(test_merge_and_storage);
    TEST_END();
}

/* src/core/hll.c: estimates within the stated error, near-exact small counts,
 * merges equal to adding everything, the stored form round-trips, and a sketch held
 * as pairs (few registers set) answers as reading every register does. */
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

static cp_hll filled(const char *prefix, int from, int to)
{
    cp_hll s = {0};
    for (int i = from; i < to; i++) CHECK_INT(cp_hll_add(&s, h(prefix, i)), CP_OK);
    return s;
}

static int same_registers(const cp_hll *a, const cp_hll *b)
{
    for (uint32_t i = 0; i < CP_HLL_REGISTERS; i++)
        if (cp_hll_register(a, i) != cp_hll_register(b, i)) return 0;
    return 1;
}

/* The estimate as every register gives it (the definition), for comparing. */
static double scanned_count(const cp_hll *s)
{
    const double m = CP_HLL_REGISTERS, alpha = 0.7213 / (1 + 1.079 / m);
    double sum = 0;
    size_t zeros = 0;
    for (uint32_t i = 0; i < CP_HLL_REGISTERS; i++) {
        sum += ldexp(1.0, -cp_hll_register(s, i));
        zeros += cp_hll_register(s, i) == 0;
    }
    double e = alpha * m * m / sum;
    return e <= 2.5 * m && zeros ? m * log(m / (double)zeros) : e;
}

static uint32_t scanned_set(const cp_hll *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < CP_HLL_REGISTERS; i++) n += cp_hll_register(s, i) != 0;
    return n;
}

static void test_estimates(void)
{
    cp_hll s = filled("u", 0, 0);
    CHECK(cp_hll_count(&s) == 0);
    s = filled("u", 0, 10);
    CHECK_INT(llround(cp_hll_count(&s)), 10);
    for (int i = 0; i < 10; i++) cp_hll_add(&s, h("u", i)); /* the same again: no change */
    CHECK_INT(llround(cp_hll_count(&s)), 10);
    cp_hll_free(&s);
    static const int sizes[] = {1000, 20000, 100000, 1000000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        s = filled("visitor", 0, sizes[i]);
        double err = fabs(cp_hll_count(&s) - sizes[i]) / sizes[i];
        if (err > 0.02) fprintf(stderr, "n=%d error %.4f\n", sizes[i], err);
        CHECK(err <= 0.02);
        cp_hll_free(&s);
    }
}

static void test_merge_and_storage(void)
{
    cp_hll a = filled("m", 0, 6000), b = filled("m", 3000, 9000), all = filled("m", 0, 9000);
    CHECK_INT(cp_hll_merge(&a, &b), CP_OK);
    CHECK(same_registers(&a, &all));
    for (int n = 0; n < 2; n++) { /* sparse (few registers) and dense */
        cp_hll few = filled("s", 0, 50), back = {0}, *src = n ? &all : &few;
        cp_buf buf;
        cp_buf_init(&buf);
        CHECK_INT(cp_hll_serialize(src, &buf), CP_OK);
        CHECK_INT(buf.len, n ? 1 + CP_HLL_REGISTERS : 1 + 3 * 50);
        CHECK_INT(cp_hll_merge_serialized(&back, buf.ptr, buf.len), CP_OK);
        CHECK(same_registers(&back, src));
        CHECK_INT(cp_hll_merge_serialized(&back, buf.ptr, buf.len - 1), CP_ECORRUPT);
        CHECK_INT(cp_hll_merge_serialized(&back, "X", 1), CP_ECORRUPT);
        CHECK_INT(cp_hll_merge_serialized(&back, "S\xff\xff\x01", 4), CP_ECORRUPT);
        cp_buf_free(&buf);
        cp_hll_free(&few);
        cp_hll_free(&back);
    }
    cp_hll_free(&a);
    cp_hll_free(&b);
    cp_hll_free(&all);
}

/* Around the change from pairs to every register (CP_HLL_LISTED set), and well past it:
 * the same estimate, merge and stored form as reading every register. */
static void test_pairs_equal_registers(void)
{
    static const int sizes[] = {1, 7, 300, 520, 530, 540, 700, 6000, 9000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        cp_hll s = filled("l", 0, sizes[k]), copy = {0}, other = filled("other", 0, 20);
        CHECK_INT(s.set, scanned_set(&s));
        CHECK(cp_hll_count(&s) == scanned_count(&s));
        CHECK_INT(cp_hll_merge(&copy, &s), CP_OK);
        CHECK(same_registers(&copy, &s));
        CHECK_INT(copy.set, s.set);
        CHECK_INT(cp_hll_merge(&copy, &other), CP_OK); /* into pairs, or into registers */
        CHECK_INT(copy.set, scanned_set(&copy));
        CHECK(cp_hll_count(&copy) == scanned_count(&copy));
        cp_buf buf;
        cp_buf_init(&buf);
        CHECK_INT(cp_hll_serialize(&s, &buf), CP_OK);
        CHECK_INT(buf.len, s.set * 3 >= CP_HLL_REGISTERS ? 1 + CP_HLL_REGISTERS : 1 + 3 * s.set);
        if (buf.ptr[0] == 'S') /* entries by index, each register once */
            for (size_t at = 4; at < buf.len; at += 3)
                CHECK(((uint8_t)buf.ptr[at] << 8 | (uint8_t)buf.ptr[at + 1]) >
                      ((uint8_t)buf.ptr[at - 3] << 8 | (uint8_t)buf.ptr[at - 2]));
        cp_hll_clear(&copy);
        CHECK_INT(copy.set, 0);
        CHECK(cp_hll_count(&copy) == 0);
        CHECK_INT(cp_hll_merge_serialized(&copy, buf.ptr, buf.len), CP_OK);
        CHECK(same_registers(&copy, &s));
        CHECK_INT(copy.set, s.set);
        cp_buf_free(&buf);
        cp_hll_free(&s);
        cp_hll_free(&copy);
        cp_hll_free(&other);
    }
    cp_hll s = filled("l", 0, 600); /* more than CP_HLL_LISTED registers: held as registers */
    CHECK(s.set > CP_HLL_LISTED && s.reg != NULL && s.pairs == NULL);
    cp_hll_free(&s);
    s = filled("l", 0, 100);
    CHECK(s.reg == NULL && s.set <= s.cap);
    cp_hll_free(&s);
}

int main(void)
{
    RUN(test_estimates);
    RUN(test_merge_and_storage);
    RUN(test_pairs_equal_registers);
    TEST_END();
}

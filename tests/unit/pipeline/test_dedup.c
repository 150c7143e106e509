/* src/pipeline/dedup.c: first deliveries, duplicates, redeliveries, the window,
 * removal, and growth past the initial table. */
#include "pipeline/internal.h"
#include "test.h"

static void test_verdicts(void)
{
    dedup *d = dedup_new(7 * 86400000LL);
    CHECK_INT(dedup_check(d, 42, 1, 1000), DEDUP_NEW);
    CHECK_INT(dedup_check(d, 42, 1, 2000), DEDUP_SAME_DELIVERY);
    CHECK_INT(dedup_check(d, 42, 2, 3000), DEDUP_DUPLICATE);
    CHECK_INT(dedup_check(d, 43, 2, 3000), DEDUP_NEW);
    /* Past the window the messageId counts as new again. */
    CHECK_INT(dedup_check(d, 42, 3, 1000 + 7 * 86400000LL + 1), DEDUP_NEW);
    dedup_remove(d, 43);
    CHECK_INT(dedup_check(d, 43, 9, 4000), DEDUP_NEW);
    CHECK_INT(dedup_size(d), 2);
    dedup_free(d);
}

static void test_growth_and_sweep(void)
{
    dedup *d = dedup_new(1000);
    for (uint64_t i = 1; i <= 200000; i++)
        CHECK_INT(dedup_check(d, i * 0x9E3779B97F4A7C15ULL, i, 5000), DEDUP_NEW);
    CHECK_INT(dedup_size(d), 200000);
    for (uint64_t i = 1; i <= 200000; i += 997)
        CHECK_INT(dedup_check(d, i * 0x9E3779B97F4A7C15ULL, 0, 5000), DEDUP_DUPLICATE);
    /* Entries far older than the window are swept when the table fills. */
    for (uint64_t i = 1; i <= 200000; i++)
        dedup_check(d, (i + 1000000) * 0x9E3779B97F4A7C15ULL, i, 100000);
    CHECK(dedup_size(d) <= 200000 + 200000);
    for (uint64_t i = 1; i <= 5000; i++) dedup_remove(d, (i + 1000000) * 0x9E3779B97F4A7C15ULL);
    for (uint64_t i = 5001; i <= 200000; i += 1231)
        CHECK_INT(dedup_check(d, (i + 1000000) * 0x9E3779B97F4A7C15ULL, i, 100000),
                  DEDUP_SAME_DELIVERY);
    dedup_free(d);
}

int main(void)
{
    RUN(test_verdicts);
    RUN(test_growth_and_sweep);
    TEST_END();
}

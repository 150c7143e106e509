/* src/pipeline/dedup.c: first deliveries, duplicates, redeliveries, the window (to
 * the second, never shorter), removal, growth past the initial table, lookups and
 * removals while entries move to a new table, and a window's worth of memory when
 * entries keep expiring; bounded, the same verdicts as unbounded with the table within
 * its bytes and the rest in the cold part on disk. */
#include "pipeline/internal.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

#define K(i) ((uint64_t)(i)*0x9E3779B97F4A7C15ULL)

static void test_verdicts(void)
{
    dedup *d = dedup_new(7 * 86400000LL, 0, NULL, NULL, 0);
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
    dedup *d = dedup_new(1000, 0, NULL, NULL, 0);
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

/* Receive times are kept to the second, rounded up: an entry lasts up to a second
 * longer than the window, never less. */
static void test_window_to_the_second(void)
{
    dedup *d = dedup_new(1000, 0, NULL, NULL, 0);
    CHECK_INT(dedup_check(d, 7, 1, 1500), DEDUP_NEW);
    CHECK_INT(dedup_check(d, 7, 2, 2500), DEDUP_DUPLICATE); /* 1000 ms on: inside */
    CHECK_INT(dedup_check(d, 7, 2, 3000), DEDUP_DUPLICATE); /* 1500 ms: kept (rounded up) */
    CHECK_INT(dedup_check(d, 7, 3, 3001), DEDUP_NEW);       /* past the second too */
    CHECK_INT(dedup_check(d, 8, 1, -2500), DEDUP_NEW);      /* times before 1970 */
    CHECK_INT(dedup_check(d, 8, 1, -1500), DEDUP_SAME_DELIVERY);
    CHECK_INT(dedup_check(d, 9, 1, INT64_MIN), DEDUP_NEW); /* a reject's key, no clock yet */
    CHECK_INT(dedup_check(d, 9, 1, INT64_MIN), DEDUP_SAME_DELIVERY);
    dedup_free(d);
}

/* Past 70 % of the first table (65,536 slots) entries move to a larger one a few at a
 * time: every entry stays found, in either table, and removals in either hold. */
static void test_lookups_while_moving(void)
{
    dedup *d = dedup_new(86400000, 0, NULL, NULL, 0);
    uint64_t n = 65536 / 10 * 7;
    for (uint64_t i = 1; i <= n; i++) CHECK_INT(dedup_check(d, K(i), i, 5000), DEDUP_NEW);
    /* the next insert starts the move; 100 more leave most entries in the old table */
    for (uint64_t i = n + 1; i <= n + 100; i++) CHECK_INT(dedup_check(d, K(i), i, 5000), DEDUP_NEW);
    CHECK_INT(dedup_size(d), n + 100);
    dedup_remove(d, K(n + 50)); /* in the new table */
    dedup_remove(d, K(n - 7));  /* not yet moved */
    dedup_remove(d, K(3));      /* possibly moved */
    int wrong = 0;
    for (uint64_t i = 1; i <= n + 100; i++) {
        int v = dedup_check(d, K(i), i, 6000);
        int want = i == n + 50 || i == n - 7 || i == 3 ? DEDUP_NEW : DEDUP_SAME_DELIVERY;
        wrong += v != want;
    }
    CHECK_INT(wrong, 0);
    /* past the move: the same answers from the one table */
    for (uint64_t i = n + 101; i <= 200000; i++)
        CHECK_INT(dedup_check(d, K(i), i, 6000), DEDUP_NEW);
    for (uint64_t i = 1; i <= 200000; i++)
        wrong += dedup_check(d, K(i), 0, 7000) != DEDUP_DUPLICATE;
    CHECK_INT(wrong, 0);
    CHECK_INT(dedup_size(d), 200000);
    dedup_free(d);
}

/* A steady stream with a 10-second window: entries older than it are dropped as the
 * table fills, which keeps about a window's worth (1,000 a second here), however many
 * came before; what is inside the window is still found. */
static void test_memory_follows_the_window(void)
{
    dedup *d = dedup_new(10000, 0, NULL, NULL, 0);
    for (uint64_t i = 1; i <= 1000000; i++)
        CHECK_INT(dedup_check(d, K(i), i, (int64_t)i), DEDUP_NEW);
    CHECK(dedup_size(d) <= 65536 / 10 * 7);
    int wrong = 0;
    for (uint64_t i = 1000000 - 9000; i <= 1000000; i++)
        wrong += dedup_check(d, K(i), 0, 1000000) != DEDUP_DUPLICATE;
    CHECK_INT(wrong, 0);
    CHECK_INT(dedup_check(d, K(1000), 0, 1000000), DEDUP_NEW); /* long gone */
    dedup_free(d);
}

/* The window reaches both ways: an archive's copy received earlier than the one in the
 * table is a duplicate too when within the window, and new beyond it; the latest accepted
 * delivery is what later ones are compared with. */
static void test_window_both_ways(void)
{
    const int64_t day = 86400000LL, t = 1790000000000LL;
    dedup *d = dedup_new(7 * day, 0, NULL, NULL, 0);
    CHECK_INT(dedup_check(d, 7, 1, t), DEDUP_NEW);
    CHECK_INT(dedup_check(d, 7, 2, t - 6 * day), DEDUP_DUPLICATE);
    CHECK_INT(dedup_check(d, 7, 3, t - 8 * day), DEDUP_NEW);       /* now the latest accepted */
    CHECK_INT(dedup_check(d, 7, 4, t - 2 * day), DEDUP_DUPLICATE); /* 6 days after it */
    CHECK_INT(dedup_check(d, 7, 5, t), DEDUP_NEW);                 /* 8 days after it */
    dedup_free(d);
}

/* An entry the table dropped on a move (an archive's old receive time, then many lines
 * stamped by the clock): the table says it no longer covers that time, so the caller can
 * load it back; loaded, the copy is a duplicate. Old times looked up since the last move
 * keep what is near them. */
static void test_floor_after_a_move(void)
{
    const int64_t day = 86400000LL, now = 1790000000000LL, old = now - 60 * day;
    dedup *d = dedup_new(7 * day, 0, NULL, NULL, 0);
    CHECK(dedup_covers(d, old));
    CHECK_INT(dedup_check(d, K(1), 1, old), DEDUP_NEW);
    for (uint64_t i = 2; i <= 60000; i++) CHECK_INT(dedup_check(d, K(i), i, now), DEDUP_NEW);
    CHECK(!dedup_covers(d, old)); /* the table moved on: old entries may be gone */
    CHECK(dedup_covers(d, now));
    dedup_near(d, old - 7 * day);
    CHECK_INT(dedup_load(d, K(1), 1, old), 0);
    CHECK_INT(dedup_load(d, K(2), 99, old), 0); /* the table's own (later) entry stays */
    dedup_floor(d, old - 14 * day);
    CHECK(dedup_covers(d, old));
    CHECK_INT(dedup_check(d, K(1), 5, old + 1000), DEDUP_DUPLICATE);
    CHECK_INT(dedup_check(d, K(2), 2, now), DEDUP_SAME_DELIVERY);
    /* an archive's old lines keep theirs through the next moves */
    for (uint64_t i = 100001; i <= 200000; i++) {
        CHECK_INT(dedup_check(d, K(i), i, i % 2 ? old : now), DEDUP_NEW);
        if (i % 2) CHECK(dedup_covers(d, old));
    }
    CHECK_INT(dedup_check(d, K(100001), 7, old), DEDUP_DUPLICATE);
    dedup_free(d);
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
    return *x;
}

/* A bounded window (4 MB: tables of at most 131,072 slots) against an unbounded one on
 * the same 700,000 deliveries: new messages a millisecond apart, re-deliveries (the same
 * or another delivery) of messages from the last second to beyond the window, some
 * removed; then a flood within one second. Every verdict the same; the table never past
 * its bytes; most entries in the cold part. */
static void test_bounded_equals_unbounded(void)
{
    char dir[] = "/tmp/cp-dedup-XXXXXX", cold[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(cold, sizeof(cold), "%s/dedup", dir);
    char err[256] = "";
    const size_t bytes = 4u << 20;
    const int64_t window = 300000;
    dedup *a = dedup_new(window, 0, NULL, NULL, 0),
          *b = dedup_new(window, bytes, cold, err, sizeof(err));
    CHECK(b != NULL);
    if (!b) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    uint64_t x = 88172645463325252ULL, next = 1;
    int64_t t = 1700000000000LL;
    size_t differ = 0, dups = 0, peak = 0;
    for (int i = 0; i < 700000; i++) {
        uint64_t r = rnd(&x), msg, delivery;
        int64_t at = t;
        if (r % 10 < 7 || next < 100) { /* a new message */
            msg = K(next), delivery = next++;
            t++;
        } else { /* an earlier one again: from the last second to twice the window back */
            uint64_t back = r % 10 == 7 ? rnd(&x) % 1000 + 1 : rnd(&x) % (2 * (uint64_t)window) + 1;
            uint64_t j = next > back ? next - back : 1;
            msg = K(j), delivery = rnd(&x) % 3 ? j : j + 1;
        }
        int va = dedup_check(a, msg, delivery, at), vb = dedup_check(b, msg, delivery, at);
        differ += va != vb;
        dups += va == DEDUP_DUPLICATE;
        if (r % 997 == 0) { /* undoing an insert */
            dedup_remove(a, msg);
            dedup_remove(b, msg);
        }
        if (dedup_table_bytes(b) > peak) peak = dedup_table_bytes(b);
    }
    for (int i = 0; i < 300000; i++) { /* a flood within one second, then its re-deliveries */
        uint64_t msg = K(next + (uint64_t)(i % 200000));
        int va = dedup_check(a, msg, 1, t), vb = dedup_check(b, msg, 1 + (i >= 200000), t);
        differ += (va == DEDUP_NEW) != (vb == DEDUP_NEW);
        if (dedup_table_bytes(b) > peak) peak = dedup_table_bytes(b);
    }
    if (differ) fprintf(stderr, "%zu verdicts differ\n", differ);
    CHECK_INT(differ, 0);
    CHECK(dups > 10000);
    CHECK(peak <= bytes);
    CHECK(dedup_cold_size(b) > 300000);
    CHECK(access(cold, F_OK) == 0);
    dedup_free(a);
    dedup_free(b);
    CHECK(access(cold, F_OK) != 0); /* its files are gone with it */
    rmdir(dir);
}

/* Below its bound the table only grows: nothing goes to disk until the largest table is
 * 70 % full (4 MB: 131,072 slots). */
static void test_bounded_grows_first(void)
{
    char dir[] = "/tmp/cp-dedup-XXXXXX", cold[64], err[256] = "";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(cold, sizeof(cold), "%s/dedup", dir);
    dedup *d = dedup_new(86400000, 4u << 20, cold, err, sizeof(err));
    CHECK(d != NULL);
    for (uint64_t i = 1; d && i <= 91000; i++)
        CHECK_INT(dedup_check(d, K(i), i, 1000 + (int64_t)i), DEDUP_NEW);
    CHECK_INT(dedup_cold_size(d), 0);
    CHECK_INT(dedup_table_bytes(d), 131072 * 16);
    for (uint64_t i = 91001; d && i <= 100000; i++)
        CHECK_INT(dedup_check(d, K(i), i, 1000 + (int64_t)i), DEDUP_NEW);
    CHECK(dedup_cold_size(d) > 0);
    for (uint64_t i = 1; d && i <= 100000; i++)
        CHECK_INT(dedup_check(d, K(i), i + 1, 200000), DEDUP_DUPLICATE);
    dedup_free(d);
    rmdir(dir);
}

int main(void)
{
    RUN(test_verdicts);
    RUN(test_growth_and_sweep);
    RUN(test_window_to_the_second);
    RUN(test_lookups_while_moving);
    RUN(test_memory_follows_the_window);
    RUN(test_window_both_ways);
    RUN(test_floor_after_a_move);
    RUN(test_bounded_grows_first);
    RUN(test_bounded_equals_unbounded);
    TEST_END();
}

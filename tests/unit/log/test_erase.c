/* src/log/erase.c: a person's events become tombstones in place — in closed and in
 * the active segment — offsets and everyone else's events stay, the log reopens
 * (its recovery verifies every frame of the last segment) and appends go on. */
#include "clickpulse/bronze.h"
#include "clickpulse/error.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static cp_bronze *open_log(void)
{
    cp_bronze_options o;
    cp_bronze_options_default(&o);
    o.dir = dir;
    o.segment_bytes = 4096; /* several segments */
    cp_bronze *b = NULL;
    CHECK_INT(cp_bronze_open(&o, &b, NULL), CP_OK);
    return b;
}

/* Events i = from…from+count-1, by user "u<i % 3>", in batches of 10. */
static void append(cp_bronze *b, int from, int count)
{
    char text[10][64];
    cp_bronze_record recs[10];
    for (int done = 0; done < count; done += 10) {
        for (int k = 0; k < 10; k++) {
            int i = from + done + k;
            snprintf(text[k], sizeof(text[k]), "{\"userId\":\"u%d\",\"i\":%d}", i % 3, i);
            recs[k] = (cp_bronze_record){1790856000000LL + i, CP_SLICE_LIT("http"),
                                         k % 2 ? CP_SLICE_LIT("r.1") : CP_SLICE_NULL,
                                         cp_slice_from(text[k])};
        }
        uint64_t first;
        CHECK_INT(cp_bronze_append(b, recs, 10, &first), CP_OK);
    }
}

static int is_u1(void *ud, const cp_bronze_entry *e)
{
    (*(int *)ud)++;
    return memmem(e->event.ptr, e->event.len, "\"u1\"", 4) != NULL;
}

/* Reads everything back: offsets without gaps, u1's events erased (with their time,
 * source and position kept), the others as written. Returns the tombstones seen. */
static int read_back(cp_bronze *b, int expect_total, int erased_below)
{
    cp_bronze_reader *r;
    cp_bronze_entry e;
    CHECK_INT(cp_bronze_reader_open(b, 0, &r), CP_OK);
    int n = 0, tombstones = 0, wrong = 0, got;
    while ((got = cp_bronze_reader_next(r, &e)) == 1) {
        int i = (int)e.offset;
        char want[64];
        snprintf(want, sizeof(want), "{\"userId\":\"u%d\",\"i\":%d}", i % 3, i);
        int erased = cp_bronze_entry_erased(&e);
        tombstones += erased;
        if (e.offset != (uint64_t)n || e.received_at_ms != 1790856000000LL + i ||
            !cp_slice_eq(e.source, CP_SLICE_LIT("http")) || e.at.len != (i % 10 % 2 ? 3u : 0u) ||
            erased != (i % 3 == 1 && i < erased_below) ||
            (!erased && !cp_slice_eq(e.event, cp_slice_from(want))))
            wrong++;
        n++;
    }
    CHECK_INT(got, 0);
    CHECK_INT(wrong, 0);
    CHECK_INT(n, expect_total);
    cp_bronze_reader_close(r);
    return tombstones;
}

static void test_erase(void)
{
    cp_bronze *b = open_log();
    append(b, 0, 300);
    int seen = 0;
    uint64_t erased = 0;
    CHECK_INT(cp_bronze_erase(b, is_u1, &seen, &erased), CP_OK);
    CHECK_INT(erased, 100);
    CHECK_INT(seen, 300);
    CHECK_INT(read_back(b, 300, 300), 100);

    seen = 0; /* tombstones are not offered again */
    CHECK_INT(cp_bronze_erase(b, is_u1, &seen, &erased), CP_OK);
    CHECK_INT(erased, 0);
    CHECK_INT(seen, 200);

    append(b, 300, 30); /* the active segment, rewritten, takes appends */
    CHECK_INT(cp_bronze_next_offset(b), 330);
    CHECK_INT(read_back(b, 330, 300), 100);
    CHECK_INT(cp_bronze_close(b), CP_OK);

    cp_bronze_recovery rec;
    cp_bronze_options o;
    cp_bronze_options_default(&o);
    o.dir = dir;
    o.segment_bytes = 4096;
    CHECK_INT(cp_bronze_open(&o, &b, &rec), CP_OK);
    CHECK_INT(rec.cut_bytes, 0);
    CHECK(rec.segments >= 2); /* a closed segment and the active one */
    CHECK_INT(read_back(b, 330, 300), 100);
    CHECK_INT(cp_bronze_erase(b, is_u1, &seen, &erased), CP_OK);
    CHECK_INT(erased, 10);
    CHECK_INT(read_back(b, 330, 330), 110);
    CHECK_INT(cp_bronze_close(b), CP_OK);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cp_test_erase_%d", (int)getpid());
    RUN(test_erase);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    TEST_END();
}

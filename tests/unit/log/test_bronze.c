/* src/log/: appending, reading back from any offset, reopening, space reserved ahead
 * in the newest segment (and syncs writing only what changed), recovery of a torn or corrupt tail,
 * segment rolling, retention, and DuckDB reading the segments as they are. */
#include "clickpulse/bronze.h"
#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "test.h"

#include <dirent.h>
#include <duckdb.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static char dir[256];

static void fresh_dir(const char *name)
{
    snprintf(dir, sizeof(dir), "/tmp/cp_test_bronze_%d_%s", (int)getpid(), name);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

static cp_bronze *open_log(int64_t segment_bytes, cp_bronze_recovery *rec)
{
    cp_bronze_options o;
    cp_bronze_options_default(&o);
    o.dir = dir;
    if (segment_bytes) o.segment_bytes = segment_bytes;
    cp_bronze *b = NULL;
    CHECK_INT(cp_bronze_open(&o, &b, rec), CP_OK);
    return b;
}

/* Appends batches of `per` events numbered from `from`; event i is {"i":i}. */
static void append_range(cp_bronze *b, int from, int count, int per)
{
    char text[128][48];
    cp_bronze_record recs[128];
    for (int done = 0; done < count;) {
        int n = count - done < per ? count - done : per;
        for (int k = 0; k < n; k++) {
            int i = from + done + k;
            snprintf(text[k], sizeof(text[k]), "{\"i\":%d,\n\"s\":\"x\"}", i);
            recs[k] = (cp_bronze_record){1790856000000LL + i, CP_SLICE_LIT("file"),
                                         i % 2 ? CP_SLICE_LIT("f.jsonl:7") : CP_SLICE_NULL,
                                         cp_slice_from(text[k])};
        }
        uint64_t first;
        CHECK_INT(cp_bronze_append(b, recs, (size_t)n, &first), CP_OK);
        CHECK_INT(first, from + done);
        done += n;
    }
}

/* Reads from `from` and checks every entry (the first returned is `start`); returns
 * how many were read. Reports only the first wrong entry. */
static int read_from(cp_bronze *b, uint64_t from, uint64_t start)
{
    cp_bronze_reader *r;
    cp_bronze_entry e;
    int n = 0, rc;
    CHECK_INT(cp_bronze_reader_open(b, from, &r), CP_OK);
    from = start;
    while ((rc = cp_bronze_reader_next(r, &e)) == 1) {
        if (t_case_failed) break;
        char want[48];
        snprintf(want, sizeof(want), "{\"i\":%d, \"s\":\"x\"}", (int)e.offset);
        if (e.offset != from + (uint64_t)n) CHECK_INT(e.offset, from + (uint64_t)n);
        if (!cp_slice_eq_lit(e.event, want)) CHECK_SLICE(e.event, want);
        if (e.received_at_ms != 1790856000000LL + (int64_t)e.offset)
            CHECK_INT(e.received_at_ms, 1790856000000LL + (int64_t)e.offset);
        if (!cp_slice_eq_lit(e.source, "file")) CHECK_SLICE(e.source, "file");
        if (!cp_slice_eq_lit(e.at, e.offset % 2 ? "f.jsonl:7" : ""))
            CHECK_SLICE(e.at, e.offset % 2 ? "f.jsonl:7" : "");
        n++;
    }
    if (!t_case_failed) CHECK_INT(rc, 0);
    cp_bronze_reader_close(r);
    return n;
}

static int read_check(cp_bronze *b, uint64_t from)
{
    return read_from(b, from, from);
}

static void test_append_read_reopen(void)
{
    fresh_dir("basic");
    cp_bronze_recovery rec;
    cp_bronze *b = open_log(0, &rec);
    CHECK_INT(cp_bronze_next_offset(b), 0);
    append_range(b, 0, 1000, 37);
    CHECK_INT(cp_bronze_next_offset(b), 1000);
    CHECK_INT(read_check(b, 0), 1000);
    CHECK_INT(read_check(b, 555), 445);
    CHECK_INT(read_check(b, 999), 1);
    CHECK_INT(read_check(b, 1000), 0);
    CHECK_INT(cp_bronze_close(b), CP_OK);
    b = open_log(0, &rec);
    CHECK_INT(rec.events, 1000);
    CHECK_INT(rec.frames, 28);
    CHECK_INT(rec.cut_bytes, 0);
    CHECK_INT(cp_bronze_next_offset(b), 1000);
    append_range(b, 1000, 10, 10);
    CHECK_INT(read_check(b, 990), 20);
    cp_bronze_record none;
    uint64_t first;
    CHECK_INT(cp_bronze_append(b, &none, 0, &first), CP_EINVAL);
    cp_bronze_close(b);
}

static char *only_segment(void)
{
    static char path[512];
    DIR *d = opendir(dir);
    struct dirent *de;
    path[0] = 0;
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".jsonl.zst"))
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    closedir(d);
    return path;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Where a segment's batches end: their headers walked (a skippable frame of magic
 * 0x184D2A50 and 32 bytes, the batch's compressed size at byte 20, then the batch). */
static off_t data_end(const char *path)
{
    int fd = open(path, O_RDONLY);
    unsigned char h[40];
    off_t pos = 0;
    while (pread(fd, h, sizeof(h), pos) == (ssize_t)sizeof(h) && le32(h) == 0x184D2A50u)
        pos += 40 + le32(h + 20);
    close(fd);
    return pos;
}

static off_t size_of(const char *path)
{
    struct stat st;
    CHECK(stat(path, &st) == 0);
    return st.st_size;
}

/* The 8 bytes at `at`: a padding frame's header for the rest of the file? */
static int padded_from(const char *path, off_t at)
{
    unsigned char h[8] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t got = pread(fd, h, sizeof(h), at);
    close(fd);
    return got == 8 && le32(h) == 0x184D2A51u && at + 8 + (off_t)le32(h + 4) == size_of(path);
}

static void overwrite(const char *path, off_t at, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);
    CHECK(pwrite(fd, bytes, n, at) == (ssize_t)n);
    close(fd);
}

/* The first frame's header (magic, size, then first u64, count, clen, ulen, check,
 * last_recv). */
static void first_header(const char *path, unsigned char h[40])
{
    int fd = open(path, O_RDONLY);
    CHECK(pread(fd, h, 40, 0) == 40);
    close(fd);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* The newest segment's space is reserved ahead and written, a padding frame after the
 * last batch: appends go on into it (the file does not grow), after a reopen too. */
static void test_reserved_space(void)
{
    fresh_dir("reserved");
    cp_bronze_recovery rec;
    cp_bronze *b = open_log(0, &rec);
    append_range(b, 0, 300, 100);
    char *seg = only_segment();
    off_t end = data_end(seg), size = size_of(seg);
    CHECK(padded_from(seg, end));
    /* the first batch reserved a step of 1 MB after its padding header; the others moved in */
    unsigned char h[40];
    first_header(seg, h);
    CHECK_INT(size, 40 + (off_t)le32(h + 20) + 8 + (1 << 20));
    cp_bronze_close(b);
    CHECK_INT(size_of(seg), size);
    b = open_log(0, &rec);
    CHECK_INT(rec.cut_bytes, 0);
    CHECK_INT(cp_bronze_next_offset(b), 300);
    append_range(b, 300, 100, 50);
    CHECK_INT(size_of(seg), size);
    CHECK(data_end(seg) > end);
    CHECK(padded_from(seg, data_end(seg)));
    CHECK_INT(read_check(b, 0), 400);
    cp_bronze_close(b);

    /* A crash between a batch and its padding header: zeros there. The header comes back
     * at open and nothing is cut. */
    end = data_end(seg);
    overwrite(seg, end, "\0\0\0\0\0\0\0\0", 8);
    CHECK(!padded_from(seg, end));
    b = open_log(0, &rec);
    CHECK_INT(rec.cut_bytes, 0);
    CHECK_INT(cp_bronze_next_offset(b), 400);
    CHECK(padded_from(seg, end));
    CHECK_INT(size_of(seg), size);
    append_range(b, 400, 10, 10);
    CHECK_INT(read_check(b, 0), 410);
    cp_bronze_close(b);

    /* Without syncs nothing is reserved: the file ends at its batches. */
    fresh_dir("unreserved");
    cp_bronze_options o;
    cp_bronze_options_default(&o);
    o.dir = dir;
    o.fsync = CP_BRONZE_FSYNC_OFF;
    CHECK_INT(cp_bronze_open(&o, &b, &rec), CP_OK);
    append_range(b, 0, 300, 100);
    cp_bronze_close(b);
    seg = only_segment();
    CHECK_INT(size_of(seg), data_end(seg));
}

/* Bytes this process has had written to disk so far (0 where the kernel does not say). */
static uint64_t write_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    unsigned long long v = 0;
    char line[128];
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "write_bytes: %llu", &v) == 1) break;
    if (f) fclose(f);
    return v;
}

/* A sync writes what changed since the last: a few kilobytes for a small batch. (Space
 * reserved by one write of a megabyte is held by the page cache in large folios, and a
 * sync of a batch written into one wrote all of it again: 1 MB a batch.) */
static void test_syncs_write_little(void)
{
    fresh_dir("little");
    cp_bronze_recovery rec;
    cp_bronze *b = open_log(0, &rec);
    append_range(b, 0, 10, 10); /* reserves the first step */
    uint64_t before = write_bytes();
    append_range(b, 10, 2000, 10);
    CHECK((write_bytes() - before) / 200 <= 16384);
    CHECK_INT(read_check(b, 0), 2010);
    cp_bronze_close(b);
}

static void test_torn_tail_and_garbage(void)
{
    fresh_dir("torn");
    cp_bronze_recovery rec;
    cp_bronze *b = open_log(0, &rec);
    append_range(b, 0, 300, 100);
    cp_bronze_close(b);
    char *seg = only_segment();
    off_t end = data_end(seg);
    /* Tear the last batch: its last 10 bytes never reached the disk (zeros there). */
    overwrite(seg, end - 10, "\0\0\0\0\0\0\0\0\0\0", 10);
    cp_log_configure(CP_LOG_OFF, CP_LOG_TEXT, 2);
    b = open_log(0, &rec);
    CHECK_INT(cp_bronze_next_offset(b), 200);
    CHECK(rec.cut_bytes > 100);
    CHECK_INT(read_check(b, 0), 200);
    append_range(b, 200, 100, 50);
    CHECK_INT(read_check(b, 0), 300);
    cp_bronze_close(b);
    CHECK(padded_from(seg, data_end(seg))); /* space is reserved again */
    /* Garbage after the last batch, where its padding was: cut, reserved space and all. */
    end = data_end(seg);
    off_t size = size_of(seg);
    overwrite(seg, end, "garbage\x00\x01\x02 that is not a frame", 30);
    b = open_log(0, &rec);
    CHECK_INT(rec.cut_bytes, size - end);
    CHECK_INT(cp_bronze_next_offset(b), 300);
    CHECK_INT(read_check(b, 0), 300);
    cp_bronze_close(b);
    CHECK_INT(size_of(seg), end);
    /* A flipped byte inside the last frame's compressed data: the checksum catches it. */
    int fd = open(seg, O_RDWR);
    char c;
    CHECK(pread(fd, &c, 1, end - 5) == 1);
    c ^= 0x40;
    CHECK(pwrite(fd, &c, 1, end - 5) == 1);
    close(fd);
    b = open_log(0, &rec);
    CHECK_INT(cp_bronze_next_offset(b), 250);
    CHECK_INT(read_check(b, 0), 250);
    cp_bronze_close(b);
    cp_log_configure(CP_LOG_INFO, CP_LOG_TEXT, 2);
}

static int count_segments(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d))) n += strstr(de->d_name, ".jsonl.zst") != NULL;
    closedir(d);
    return n;
}

static void test_segments_retention_and_damage(void)
{
    fresh_dir("roll");
    cp_bronze_recovery rec;
    cp_bronze *b = open_log(600, &rec);
    append_range(b, 0, 600, 20);
    int segs = count_segments();
    CHECK(segs >= 5);
    /* rolled segments end at their last batch; the newest ends in reserved space, no more
     * than a segment's size of it */
    char path[512];
    DIR *d = opendir(dir);
    struct dirent *de;
    int rolled = 0, reserved = 0;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, ".jsonl.zst")) continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (size_of(path) == data_end(path))
            rolled++;
        else if (padded_from(path, data_end(path)) &&
                 size_of(path) <= data_end(path) + 8 + 600) /* a segment's worth at most */
            reserved++;
    }
    closedir(d);
    CHECK_INT(rolled, segs - 1);
    CHECK_INT(reserved, 1);
    CHECK_INT(read_check(b, 0), 600);
    CHECK_INT(read_check(b, 333), 267);
    cp_bronze_close(b);
    b = open_log(600, &rec);
    CHECK_INT(rec.segments, segs);
    CHECK_INT(cp_bronze_next_offset(b), 600);
    cp_bronze_close(b);

    /* Retention by age: everything received before the cut-off goes, the active segment stays. */
    cp_bronze_options o;
    cp_bronze_options_default(&o);
    o.dir = dir;
    o.segment_bytes = 600;
    o.retention_ms = 1000;
    CHECK_INT(cp_bronze_open(&o, &b, &rec), CP_OK);
    cp_log_configure(CP_LOG_OFF, CP_LOG_TEXT, 2);
    int removed = cp_bronze_retain(b, 1790856000000LL + 400 + 1000);
    CHECK(removed > 0 && removed < segs);
    CHECK_INT(count_segments(), segs - removed);
    uint64_t oldest = cp_bronze_first_offset(b);
    CHECK(oldest > 0 && oldest <= 400);
    CHECK_INT(read_check(b, oldest), 600 - (int)oldest);
    CHECK_INT(read_from(b, 0, oldest), 600 - (int)oldest); /* older offsets: from the oldest kept */
    cp_bronze_close(b);
    /* Retention by size. */
    o.retention_ms = 0;
    o.retention_bytes = 1500;
    CHECK_INT(cp_bronze_open(&o, &b, &rec), CP_OK);
    CHECK(cp_bronze_retain(b, 0) > 0);
    CHECK(count_segments() <= 2);
    cp_bronze_close(b);

    /* Damage in a segment that is not the tail is refused, not cut. */
    fresh_dir("damage");
    b = open_log(600, &rec);
    append_range(b, 0, 200, 20);
    cp_bronze_close(b);
    char first[512];
    snprintf(first, sizeof(first), "%s/%020d.jsonl.zst", dir, 0);
    CHECK(truncate(first, 100) == 0);
    o.retention_bytes = 0;
    o.segment_bytes = 600;
    b = NULL;
    CHECK_INT(cp_bronze_open(&o, &b, &rec), CP_ECORRUPT);
    CHECK(b == NULL);
    cp_log_configure(CP_LOG_INFO, CP_LOG_TEXT, 2);
}

/* A rolled segment's frame header claiming a huge plain size, with its checksum made to
 * match: reading that frame is refused as corrupt (nothing is allocated for it), the other
 * segments read as before. */
static void test_damaged_old_header(void)
{
    fresh_dir("oldheader");
    cp_bronze_recovery rec;
    cp_bronze *b = open_log(600, &rec);
    append_range(b, 0, 200, 20);
    cp_bronze_close(b);
    char path[512];
    snprintf(path, sizeof(path), "%s/%020d.jsonl.zst", dir, 0);
    unsigned char h[40], *meta = h + 8;
    first_header(path, h);
    CHECK_INT(le32(meta + 8), 20);    /* its count */
    put_le32(meta + 16, 0xF0000000u); /* its plain size */
    put_le32(meta + 20, 0);
    put_le32(meta + 20, XXH32(meta, 32, 0x62726f6e));
    overwrite(path, 0, h, sizeof(h));

    b = open_log(600, &rec); /* only the newest segment is read through at open */
    cp_bronze_reader *r;
    cp_bronze_entry e;
    CHECK_INT(cp_bronze_reader_open(b, 0, &r), CP_OK);
    /* Address space limited to 1 GB more than in use: believing the header would fail for
     * want of memory (CP_ENOMEM), not as corrupt. (Not under AddressSanitizer, whose
     * shadow memory takes terabytes of address space.) */
    struct rlimit was;
    CHECK(getrlimit(RLIMIT_AS, &was) == 0);
#ifndef __SANITIZE_ADDRESS__
    long pages = 0;
    FILE *statm = fopen("/proc/self/statm", "r");
    CHECK(statm && fscanf(statm, "%ld", &pages) == 1);
    if (statm) fclose(statm);
    struct rlimit cap = {(rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (1u << 30), was.rlim_max};
    CHECK(setrlimit(RLIMIT_AS, &cap) == 0);
#endif
    CHECK_INT(cp_bronze_reader_next(r, &e), CP_ECORRUPT);
    CHECK(setrlimit(RLIMIT_AS, &was) == 0);
    cp_bronze_reader_close(r);
    CHECK_INT(read_check(b, 20), 180); /* the next frame on */
    cp_bronze_close(b);
}

static void test_duckdb_reads_segments(void)
{
    fresh_dir("duck");
    cp_bronze_recovery rec;
    cp_bronze *b = open_log(3000, &rec);
    append_range(b, 0, 250, 25);
    cp_bronze_close(b);
    duckdb_database db;
    duckdb_connection con;
    duckdb_result res;
    CHECK(duckdb_open(NULL, &db) == DuckDBSuccess);
    CHECK(duckdb_connect(db, &con) == DuckDBSuccess);
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT count(*), min(\"offset\"), max(\"offset\"), sum(event.i), "
             "count(DISTINCT source), max(received_at)::VARCHAR FROM read_json('%s/*.jsonl.zst', "
             "format='newline_delimited', compression='zstd')",
             dir);
    CHECK(duckdb_query(con, sql, &res) == DuckDBSuccess);
    CHECK_INT(duckdb_value_int64(&res, 0, 0), 250);
    CHECK_INT(duckdb_value_int64(&res, 1, 0), 0);
    CHECK_INT(duckdb_value_int64(&res, 2, 0), 249);
    CHECK_INT(duckdb_value_int64(&res, 3, 0), 249 * 250 / 2);
    CHECK_INT(duckdb_value_int64(&res, 4, 0), 1);
    char *last = duckdb_value_varchar(&res, 5, 0);
    CHECK_STR(last, "2026-10-01T12:00:00.249Z");
    duckdb_free(last);
    duckdb_destroy_result(&res);
    duckdb_disconnect(&con);
    duckdb_close(&db);
}

int main(void)
{
    RUN(test_append_read_reopen);
    RUN(test_reserved_space);
    RUN(test_syncs_write_little);
    RUN(test_torn_tail_and_garbage);
    RUN(test_segments_retention_and_damage);
    RUN(test_damaged_old_header);
    RUN(test_duckdb_reads_segments);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf /tmp/cp_test_bronze_%d_*", (int)getpid());
    if (system(cmd) != 0) return 1;
    TEST_END();
}

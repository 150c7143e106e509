/* Fuzz target: bytes → the bronze log's only segment file, then recovery at open.
 * Whatever the file holds, the log opens (it is its newest segment: damage is cut, never
 * refused) and then behaves: reading from the start returns offsets 0..next-1 in order,
 * an appended event gets offset next, and after a reopen nothing more is cut and the
 * appended event reads back as it was written. */
#include "clickpulse/bronze.h"
#include "clickpulse/error.h"
#include "clickpulse/log.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], seg[128];

static void setup(void)
{
    if (dir[0]) return;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof(dir), "%s/cp_fuzz_bronze_%d", base, (int)getpid());
    snprintf(seg, sizeof(seg), "%s/%020d.jsonl.zst", dir, 0);
    cp_log_configure(CP_LOG_OFF, CP_LOG_TEXT, 2);
}

static cp_bronze *open_log(cp_bronze_recovery *rec)
{
    cp_bronze_options o;
    cp_bronze_options_default(&o);
    o.dir = dir;
    cp_bronze *b = NULL;
    int rc = cp_bronze_open(&o, &b, rec);
    if (rc == CP_ENOMEM || rc == CP_EIO) exit(0); /* the machine, not the input */
    if (rc != CP_OK) abort();                     /* a lone segment is always recovered */
    return b;
}

/* Reads everything; the last entry's event into last (when there is one). */
static uint64_t read_all(cp_bronze *b, char *last, size_t len)
{
    cp_bronze_reader *r;
    cp_bronze_entry e;
    uint64_t n = 0;
    int rc;
    if (cp_bronze_reader_open(b, 0, &r) != CP_OK) abort();
    while ((rc = cp_bronze_reader_next(r, &e)) == 1) {
        if (e.offset != n++) abort();
        snprintf(last, len, "%.*s", (int)e.event.len, e.event.ptr);
    }
    cp_bronze_reader_close(r);
    if (rc != 0) abort();
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
    if (system(cmd) != 0) return 0;
    FILE *f = fopen(seg, "wb");
    if (!f) return 0;
    size_t wrote = fwrite(data, 1, size, f);
    fclose(f);
    if (wrote != size) return 0;

    cp_bronze_recovery rec;
    cp_bronze *b = open_log(&rec);
    uint64_t next = cp_bronze_next_offset(b);
    char last[256] = "";
    if (cp_bronze_first_offset(b) != 0 || read_all(b, last, sizeof(last)) != next) abort();
    cp_bronze_record ev = {1790856000000LL, {"fuzz", 4}, {"", 0}, {"{\"e\":1}", 7}};
    uint64_t first;
    if (cp_bronze_append(b, &ev, 1, &first) != CP_OK || first != next) abort();
    cp_bronze_close(b);

    b = open_log(&rec);
    if (rec.cut_bytes != 0 || cp_bronze_next_offset(b) != next + 1) abort();
    if (read_all(b, last, sizeof(last)) != next + 1 || strcmp(last, "{\"e\":1}") != 0) abort();
    cp_bronze_close(b);
    return 0;
}

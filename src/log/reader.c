/* The bronze log's reader side: iterates events from an offset, frame by
 * frame, over a snapshot of the segment list taken when the reader opens. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

int bronze_snapshot(cp_bronze *b, uint64_t from, segment **segs, size_t *n, uint64_t *end);

struct cp_bronze_reader {
    segment *segs;
    size_t n_segs, seg, frame;
    uint64_t next, end; /* next offset to return; stop before end */
    int fd;             /* segs[seg], when open */
    ZSTD_DCtx *dctx;
    cp_buf comp, plain;
    size_t at;            /* position of the next line in plain */
    uint64_t plain_first; /* offset of the first line in plain */
    int loaded;
};

int cp_bronze_reader_open(cp_bronze *b, uint64_t from, cp_bronze_reader **out)
{
    cp_bronze_reader *r = cp_calloc(1, sizeof(*r));
    if (!r) return CP_ENOMEM;
    r->fd = -1;
    cp_buf_init(&r->comp);
    cp_buf_init(&r->plain);
    int rc = bronze_snapshot(b, from, &r->segs, &r->n_segs, &r->end);
    if (rc == CP_OK && !(r->dctx = ZSTD_createDCtx())) rc = CP_ENOMEM;
    if (rc) {
        cp_bronze_reader_close(r);
        return rc;
    }
    uint64_t oldest = r->n_segs ? r->segs[0].base : r->end;
    r->next = from < oldest ? oldest : from;
    *out = r;
    return CP_OK;
}

void cp_bronze_reader_close(cp_bronze_reader *r)
{
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    for (size_t i = 0; i < r->n_segs; i++) {
        cp_free(r->segs[i].path);
        cp_free(r->segs[i].frames);
    }
    cp_free(r->segs);
    ZSTD_freeDCtx(r->dctx);
    cp_buf_free(&r->comp);
    cp_buf_free(&r->plain);
    cp_free(r);
}

/* Loads the frame holding r->next into r->plain. Returns 1, 0 at the end, or an error. */
static int load_frame(cp_bronze_reader *r)
{
    for (; r->seg < r->n_segs; r->seg++, r->frame = 0) {
        segment *s = &r->segs[r->seg];
        for (; r->frame < s->n_frames; r->frame++) {
            const frame_meta *m = &s->frames[r->frame];
            if (m->first + m->count <= r->next) continue;
            if (r->fd < 0 && (r->fd = open(s->path, O_RDONLY | O_CLOEXEC)) < 0) return CP_EIO;
            cp_buf_reset(&r->comp);
            cp_buf_reset(&r->plain);
            if (cp_buf_reserve(&r->comp, m->clen)) return CP_ENOMEM;
            if (pread(r->fd, r->comp.ptr, m->clen, (off_t)(m->pos + HEADER_BYTES)) !=
                (ssize_t)m->clen)
                return CP_EIO;
            /* the header's plain size is believed only when the frame says the same (a
             * damaged header must not ask for gigabytes) */
            if (ZSTD_getFrameContentSize(r->comp.ptr, m->clen) != m->ulen) return CP_ECORRUPT;
            if (cp_buf_reserve(&r->plain, m->ulen)) return CP_ENOMEM;
            size_t got = ZSTD_decompressDCtx(r->dctx, r->plain.ptr, m->ulen, r->comp.ptr, m->clen);
            if (ZSTD_isError(got) || got != m->ulen) return CP_ECORRUPT;
            r->plain.len = got;
            r->at = 0;
            r->plain_first = m->first;
            r->frame++;
            return 1;
        }
        if (r->fd >= 0) close(r->fd);
        r->fd = -1;
    }
    return 0;
}

/* Reads the JSON string starting at p (after its opening quote) up to its closing
 * quote; the values we write (source names, positions) hold no escapes. */
static const char *plain_string(const char *p, const char *end, cp_slice *out)
{
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q) return NULL;
    *out = (cp_slice){p, (size_t)(q - p)};
    return q + 1;
}

static int expect(const char **p, const char *end, const char *lit, size_t n)
{
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0) return 0;
    *p += n;
    return 1;
}

#define EXPECT(p, end, lit) expect(&(p), (end), (lit), sizeof(lit) - 1)

/* Splits a line we wrote: {"offset":N,"received_at":"…","source":"…"[,"at":"…"],"event":…} */
int bronze_parse_line(cp_slice line, cp_bronze_entry *e)
{
    const char *end = line.ptr + line.len, *p = memchr(line.ptr, ',', line.len);
    if (!p || !EXPECT(p, end, ",\"received_at\":\"") || end - p < 24 ||
        cp_time_parse(p, 24, &e->received_at_ms))
        return CP_ECORRUPT;
    p += 24;
    if (!EXPECT(p, end, "\",\"source\":\"") || !(p = plain_string(p, end, &e->source)))
        return CP_ECORRUPT;
    e->at = CP_SLICE_NULL;
    if (EXPECT(p, end, ",\"at\":\"") && !(p = plain_string(p, end, &e->at))) return CP_ECORRUPT;
    if (!EXPECT(p, end, ",\"event\":") || end - p < 2) return CP_ECORRUPT;
    e->event = (cp_slice){p, (size_t)(end - 1 - p)};
    e->line = line;
    return CP_OK;
}

int cp_bronze_reader_next(cp_bronze_reader *r, cp_bronze_entry *e)
{
    for (;;) {
        if (r->next >= r->end) return 0;
        if (!r->loaded || r->at >= r->plain.len) {
            int rc = load_frame(r);
            if (rc <= 0) return rc;
            r->loaded = 1;
        }
        const char *s = r->plain.ptr + r->at;
        const char *nl = memchr(s, '\n', r->plain.len - r->at);
        if (!nl) return CP_ECORRUPT;
        r->at = (size_t)(nl + 1 - r->plain.ptr);
        uint64_t off = r->plain_first++;
        if (off < r->next) continue;
        e->offset = off;
        r->next = off + 1;
        return bronze_parse_line((cp_slice){s, (size_t)(nl - s)}, e) == CP_OK ? 1 : CP_ECORRUPT;
    }
}

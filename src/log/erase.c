/* Erasure from the bronze log: a person's events become tombstones in place, so
 * that offsets, checkpoints and every other event stay as they are. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct erase_ctx {
    cp_bronze *b;
    cp_bronze_match match;
    void *ud;
    cp_buf comp, plain, lines, out; /* a frame read, its lines, the lines kept, the new file */
    uint64_t erased;
} erase_ctx;

static int put_tombstone(cp_buf *to, const cp_bronze_entry *e)
{
    if (cp_buf_reserve(to, 96 + e->source.len * 6 + e->at.len * 6)) return CP_ENOMEM;
    CP_BUF_PUT_LIT(to, "{\"offset\":");
    to->len += cp_fmt_u64(to->ptr + to->len, e->offset);
    CP_BUF_PUT_LIT(to, ",\"received_at\":\"");
    to->len += cp_time_format(e->received_at_ms, to->ptr + to->len);
    CP_BUF_PUT_LIT(to, "\",\"source\":");
    if (cp_buf_append_json_str(to, e->source.ptr, e->source.len)) return CP_ENOMEM;
    if (e->at.len) {
        CP_BUF_PUT_LIT(to, ",\"at\":");
        if (cp_buf_append_json_str(to, e->at.ptr, e->at.len)) return CP_ENOMEM;
    }
    CP_BUF_PUT_LIT(to, ",\"event\":null}\n");
    return CP_OK;
}

/* Filters the lines of c->plain (the frame m) into c->lines; returns the number erased
 * or a negative error. */
static int filter_lines(erase_ctx *c, const frame_meta *m)
{
    cp_buf_reset(&c->lines);
    const char *p = c->plain.ptr, *end = p + c->plain.len;
    int n = 0;
    for (uint64_t off = m->first; p < end; off++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return CP_ECORRUPT;
        cp_bronze_entry e;
        int rc = bronze_parse_line((cp_slice){p, (size_t)(nl - p)}, &e);
        if (rc) return rc;
        e.offset = off;
        int hit = cp_bronze_entry_erased(&e) ? 0 : c->match(c->ud, &e);
        if (hit < 0) return hit;
        if (hit) {
            if ((rc = put_tombstone(&c->lines, &e))) return rc;
            n++;
        } else if (cp_buf_append(&c->lines, p, (size_t)(nl + 1 - p))) {
            return CP_ENOMEM;
        }
        p = nl + 1;
    }
    return n;
}

/* One frame of the segment into c->out: as it was, or with its matching lines
 * replaced (new sizes in *m). */
static int erase_frame(erase_ctx *c, int fd, frame_meta *m)
{
    cp_buf_reset(&c->comp);
    cp_buf_reset(&c->plain);
    if (cp_buf_reserve(&c->comp, HEADER_BYTES + m->clen) || cp_buf_reserve(&c->plain, m->ulen))
        return CP_ENOMEM;
    if (pread(fd, c->comp.ptr, HEADER_BYTES + m->clen, (off_t)m->pos) !=
        (ssize_t)(HEADER_BYTES + m->clen))
        return CP_EIO;
    size_t got =
        ZSTD_decompressDCtx(c->b->dctx, c->plain.ptr, m->ulen, c->comp.ptr + HEADER_BYTES, m->clen);
    if (ZSTD_isError(got) || got != m->ulen) return CP_ECORRUPT;
    c->plain.len = got;
    int n = filter_lines(c, m);
    if (n < 0) return n;
    m->pos = c->out.len;
    if (n == 0) return cp_buf_append(&c->out, c->comp.ptr, HEADER_BYTES + m->clen) ? CP_ENOMEM : 0;
    c->erased += (uint64_t)n;
    size_t bound = ZSTD_compressBound(c->lines.len);
    if (cp_buf_reserve(&c->out, HEADER_BYTES + bound)) return CP_ENOMEM;
    char *at = c->out.ptr + c->out.len;
    size_t clen = ZSTD_compress2(c->b->cctx, at + HEADER_BYTES, bound, c->lines.ptr, c->lines.len);
    if (ZSTD_isError(clen)) return CP_ENOMEM;
    m->clen = (uint32_t)clen;
    m->ulen = (uint32_t)c->lines.len;
    meta_encode(m, (unsigned char *)at);
    c->out.len += HEADER_BYTES + clen;
    return n;
}

static int write_file(const char *path, const cp_buf *data)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return CP_EIO;
    size_t done = 0;
    while (done < data->len) {
        ssize_t w = write(fd, data->ptr + done, data->len - done);
        if (w <= 0 && errno != EINTR) break;
        if (w > 0) done += (size_t)w;
    }
    int rc = done == data->len && fsync(fd) == 0 ? CP_OK : CP_EIO;
    close(fd);
    if (rc) unlink(path);
    return rc;
}

/* Rewrites segment i when any of its events matches. */
static int erase_segment(erase_ctx *c, size_t i)
{
    cp_bronze *b = c->b;
    segment *s = &b->segs[i];
    frame_meta *frames = cp_malloc((s->n_frames ? s->n_frames : 1) * sizeof(frame_meta));
    int fd = open(s->path, O_RDONLY | O_CLOEXEC), rc = CP_OK;
    uint64_t before = c->erased;
    if (!frames || fd < 0) rc = frames ? CP_EIO : CP_ENOMEM;
    cp_buf_reset(&c->out);
    for (size_t f = 0; f < s->n_frames && rc == CP_OK; f++) {
        frames[f] = s->frames[f];
        int n = erase_frame(c, fd, &frames[f]);
        if (n < 0) rc = n;
    }
    if (fd >= 0) close(fd);
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.erase", s->path);
    if (rc == CP_OK && c->erased > before) {
        int active = i + 1 == b->n_segs;
        if ((rc = write_file(tmp, &c->out)) == CP_OK && rename(tmp, s->path) != 0) {
            unlink(tmp);
            rc = CP_EIO;
        }
        if (rc == CP_OK) rc = bronze_sync_dir(b->dir);
        if (rc == CP_OK) {
            pthread_mutex_lock(&b->mu);
            memcpy(s->frames, frames, s->n_frames * sizeof(frame_meta));
            s->size = c->out.len;
            pthread_mutex_unlock(&b->mu);
            CP_INFO("log", "erased %llu events from %s", (unsigned long long)(c->erased - before),
                    s->path);
        }
        if (rc == CP_OK && active) { /* the appending descriptor still holds the old file */
            close(b->fd);
            b->fd = open(s->path, O_WRONLY | O_CLOEXEC);
            b->alloc_end = 0; /* rewritten without reserved space: the next append rolls */
            if (b->fd < 0) rc = CP_EIO;
        }
    }
    cp_free(frames);
    return rc;
}

int cp_bronze_erase(cp_bronze *b, cp_bronze_match match, void *ud, uint64_t *erased)
{
    erase_ctx c = {.b = b, .match = match, .ud = ud};
    cp_buf_init(&c.comp);
    cp_buf_init(&c.plain);
    cp_buf_init(&c.lines);
    cp_buf_init(&c.out);
    int rc = b->fd >= 0 && b->dirty && fdatasync(b->fd) != 0 ? CP_EIO : CP_OK;
    for (size_t i = 0; i < b->n_segs && rc == CP_OK; i++) rc = erase_segment(&c, i);
    cp_buf_free(&c.comp);
    cp_buf_free(&c.plain);
    cp_buf_free(&c.lines);
    cp_buf_free(&c.out);
    *erased = c.erased;
    return rc;
}

/* The bronze log's writer side: opening and recovering segments, appending
 * batches as frames with group commit, rolling segments, retention. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/fs.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zstd.h>

void cp_bronze_options_default(cp_bronze_options *o)
{
    memset(o, 0, sizeof(*o));
    o->fsync = CP_BRONZE_FSYNC_BATCH;
    o->fsync_interval_ms = 100;
    o->segment_bytes = 128LL << 20;
    o->compression_level = 1;
}

static segment *add_segment(cp_bronze *b, uint64_t base, const char *path)
{
    if (cp_grow((void **)&b->segs, &b->cap_segs, b->n_segs + 1, sizeof(segment))) return NULL;
    segment *s = &b->segs[b->n_segs];
    memset(s, 0, sizeof(*s));
    s->base = base;
    if (!(s->path = cp_strdup(path))) return NULL;
    b->n_segs++;
    return s;
}

static int push_frame(segment *s, const frame_meta *m)
{
    if (cp_grow((void **)&s->frames, &s->cap, s->n_frames + 1, sizeof(frame_meta)))
        return CP_ENOMEM;
    s->frames[s->n_frames++] = *m;
    return CP_OK;
}

static void segment_path(const cp_bronze *b, uint64_t base, char *out, size_t n)
{
    snprintf(out, n, "%s/%020llu" SEGMENT_SUFFIX, b->dir, (unsigned long long)base);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Segment bases found in the directory, sorted. */
static int list_segments(cp_bronze *b, uint64_t **bases, size_t *n)
{
    DIR *d = opendir(b->dir);
    if (!d) return CP_EIO;
    size_t cap = 0;
    *bases = NULL;
    *n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        unsigned long long v = strtoull(de->d_name, &end, 10);
        if (end - de->d_name != 20 || strcmp(end, SEGMENT_SUFFIX) != 0) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nb = cp_reallocarray(*bases, cap, sizeof(uint64_t));
            if (!nb) {
                closedir(d);
                return CP_ENOMEM;
            }
            *bases = nb;
        }
        (*bases)[(*n)++] = v;
    }
    closedir(d);
    if (*n) qsort(*bases, *n, sizeof(uint64_t), cmp_u64);
    return CP_OK;
}

/* Decompresses and checks one frame; returns 0 when it is intact. */
static int verify_frame(cp_bronze *b, int fd, const frame_meta *m)
{
    char *comp = cp_malloc(m->clen), *plain = NULL;
    int rc = CP_ECORRUPT;
    if (!comp) {
        rc = CP_ENOMEM;
        goto done;
    }
    if (pread(fd, comp, m->clen, (off_t)(m->pos + HEADER_BYTES)) != (ssize_t)m->clen) goto done;
    /* the header's plain size is believed only when the frame says the same */
    if (ZSTD_getFrameContentSize(comp, m->clen) != m->ulen) goto done;
    if (!(plain = cp_malloc(m->ulen))) {
        rc = CP_ENOMEM;
        goto done;
    }
    size_t got = ZSTD_decompressDCtx(b->dctx, plain, m->ulen, comp, m->clen);
    if (!ZSTD_isError(got) && got == m->ulen && batch_lines_ok(plain, got, m)) rc = CP_OK;
done:
    cp_free(comp);
    cp_free(plain);
    return rc;
}

/* How a segment's batches end. */
enum tail { TAIL_END, TAIL_PADDED, TAIL_ZEROS };

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* Walks a segment's frames; with verify, decompresses each. Stops at the end of the
 * file, at the padding frame that reaches it, at a header of zeros (reserved space
 * whose padding header a crash left unwritten), or at the first bad frame (CP_ECORRUPT);
 * reports where the good part ends in *good_end and how in *tail. */
static int scan_segment(cp_bronze *b, segment *s, int verify, uint64_t *good_end, enum tail *tail)
{
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        return CP_EIO;
    }
    uint64_t pos = 0, size = (uint64_t)st.st_size, expect = s->base, pad;
    int rc = CP_OK;
    *tail = TAIL_END;
    while (pos < size) {
        unsigned char hdr[HEADER_BYTES];
        frame_meta m;
        size_t got = size - pos < HEADER_BYTES ? (size_t)(size - pos) : HEADER_BYTES;
        if (pread(fd, hdr, got, (off_t)pos) != (ssize_t)got) {
            rc = CP_ECORRUPT;
            break;
        }
        if (got >= PAD_HEADER_BYTES && pad_decode(hdr, &pad) == CP_OK &&
            pos + PAD_HEADER_BYTES + pad == size) {
            *tail = TAIL_PADDED;
            break;
        }
        if (all_zero(hdr, got)) {
            *tail = TAIL_ZEROS;
            break;
        }
        if (got < HEADER_BYTES || meta_decode(hdr, &m) || m.first != expect ||
            pos + HEADER_BYTES + m.clen > size) {
            rc = CP_ECORRUPT;
            break;
        }
        m.pos = pos;
        if (verify && (rc = verify_frame(b, fd, &m))) break;
        if ((rc = push_frame(s, &m))) break;
        expect += m.count;
        pos += HEADER_BYTES + m.clen;
    }
    close(fd);
    *good_end = pos;
    s->size = pos;
    return rc;
}

static int cut_tail(segment *s, uint64_t good_end, uint64_t size)
{
    int fd = open(s->path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return CP_EIO;
    int rc = ftruncate(fd, (off_t)good_end) == 0 && fdatasync(fd) == 0 ? CP_OK : CP_EIO;
    close(fd);
    if (rc == CP_OK)
        CP_WARN("log", "cut %llu bytes of torn or corrupt tail from %s at byte %llu",
                (unsigned long long)(size - good_end), s->path, (unsigned long long)good_end);
    return rc;
}

/* The newest segment ends in reserved space: appends go on into it. Zeros where the
 * padding header belongs (a crash between a batch and its padding) get one again. */
static int keep_reserved(cp_bronze *b, const segment *s, uint64_t good, uint64_t size,
                         enum tail tail)
{
    if (tail == TAIL_ZEROS) {
        unsigned char hdr[PAD_HEADER_BYTES];
        int fd = open(s->path, O_WRONLY | O_CLOEXEC), rc = CP_EIO;
        if (fd >= 0 && size - good >= PAD_HEADER_BYTES) {
            pad_encode(hdr, size - good - PAD_HEADER_BYTES);
            if (pwrite(fd, hdr, sizeof(hdr), (off_t)good) == sizeof(hdr)) rc = CP_OK;
        } else if (fd >= 0 && ftruncate(fd, (off_t)good) == 0) {
            size = 0, rc = CP_OK; /* no room for a header: the file ends at its batches */
        }
        if (rc == CP_OK && fdatasync(fd) != 0) rc = CP_EIO;
        if (fd >= 0) close(fd);
        if (rc) return rc;
    }
    b->alloc_end = size;
    return CP_OK;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int recover(cp_bronze *b, cp_bronze_recovery *rec)
{
    uint64_t *bases;
    size_t n;
    int rc = list_segments(b, &bases, &n);
    if (rc) return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        char path[4096];
        segment_path(b, bases[i], path, sizeof(path));
        segment *s = add_segment(b, bases[i], path);
        if (!s) {
            rc = CP_ENOMEM;
            break;
        }
        if (i > 0 && bases[i] != b->next) {
            CP_ERROR("log", "segment %s starts at offset %llu, expected %llu", path,
                     (unsigned long long)bases[i], (unsigned long long)b->next);
            rc = CP_ECORRUPT;
            break;
        }
        b->next = bases[i];
        uint64_t good, size = file_size(path);
        int last = i + 1 == n;
        enum tail tail;
        rc = scan_segment(b, s, last, &good, &tail);
        if (rc == CP_OK && last && tail != TAIL_END) rc = keep_reserved(b, s, good, size, tail);
        if (rc == CP_ECORRUPT && last) {
            rc = cut_tail(s, good, size);
            rec->cut_bytes += size - good;
        } else if (rc == CP_ECORRUPT) {
            CP_ERROR("log",
                     "segment %s is damaged at byte %llu (not the log's tail): "
                     "refusing to open; move it away to start anyway",
                     path, (unsigned long long)good);
        }
        for (size_t f = 0; f < s->n_frames; f++) b->next += s->frames[f].count;
        rec->frames += s->n_frames;
    }
    rec->segments = b->n_segs;
    rec->events = b->next - (b->n_segs ? b->segs[0].base : 0);
    cp_free(bases);
    return rc;
}

int bronze_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return CP_EIO;
    int rc = fsync(fd) == 0 ? CP_OK : CP_EIO;
    close(fd);
    return rc;
}

/* Opens the newest segment for appending, creating one at b->next when needed.
 * Appends write at the segment's size (pwrite), not at the file's end. */
static int open_active(cp_bronze *b, int fresh)
{
    char path[4096];
    if (fresh || b->n_segs == 0) {
        segment_path(b, b->next, path, sizeof(path));
        pthread_mutex_lock(&b->mu);
        segment *s = add_segment(b, b->next, path);
        pthread_mutex_unlock(&b->mu);
        if (!s) return CP_ENOMEM;
        b->alloc_end = 0;
    }
    segment *s = &b->segs[b->n_segs - 1];
    b->fd = open(s->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (b->fd < 0) {
        snprintf(b->error, sizeof(b->error), "creating %s: %s", s->path, strerror(errno));
        return CP_EIO;
    }
    return fresh || s->size == 0 ? bronze_sync_dir(b->dir) : CP_OK;
}

int cp_bronze_open(const cp_bronze_options *o, cp_bronze **out, cp_bronze_recovery *rec)
{
    cp_bronze_recovery tmp;
    cp_bronze *b = cp_calloc(1, sizeof(*b));
    if (!rec) rec = &tmp;
    memset(rec, 0, sizeof(*rec));
    if (!b) return CP_ENOMEM;
    b->o = *o;
    b->fd = -1;
    pthread_mutex_init(&b->mu, NULL);
    cp_buf_init(&b->lines);
    cp_buf_init(&b->out);
    int rc = CP_ENOMEM;
    if (!(b->dir = cp_strdup(o->dir)) || !(b->cctx = ZSTD_createCCtx()) ||
        !(b->dctx = ZSTD_createDCtx()))
        goto fail;
    ZSTD_CCtx_setParameter(b->cctx, ZSTD_c_compressionLevel, o->compression_level);
    ZSTD_CCtx_setParameter(b->cctx, ZSTD_c_checksumFlag, 1);
    if ((rc = cp_mkdirs(o->dir)) || (rc = recover(b, rec)) || (rc = open_active(b, 0))) goto fail;
    /* Reserving space pays when the log syncs. */
    b->reserve = o->fsync != CP_BRONZE_FSYNC_OFF;
    if (b->reserve && !(b->zeros = cp_calloc(1, ZERO_PIECE))) {
        rc = CP_ENOMEM;
        goto fail;
    }
    b->last_sync_ms = cp_now_ms();
    *out = b;
    return CP_OK;
fail:
    b->o.fsync = CP_BRONZE_FSYNC_OFF;
    cp_bronze_close(b);
    return rc;
}

static int do_sync(cp_bronze *b)
{
    if (!b->dirty) return CP_OK;
    if (fdatasync(b->fd) != 0) {
        snprintf(b->error, sizeof(b->error), "syncing %s: %s", b->segs[b->n_segs - 1].path,
                 strerror(errno));
        return CP_EIO;
    }
    b->dirty = 0;
    b->last_sync_ms = cp_now_ms();
    return CP_OK;
}

int cp_bronze_sync(cp_bronze *b)
{
    return do_sync(b);
}

/* The batch's JSON lines into b->lines. */
static int format_lines(cp_bronze *b, const cp_bronze_record *recs, size_t n, int64_t *last_recv)
{
    cp_buf_reset(&b->lines);
    *last_recv = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        const cp_bronze_record *r = &recs[i];
        if (cp_buf_reserve(&b->lines, r->event.len + (r->source.len + r->at.len) * 6 + 104))
            return CP_ENOMEM;
        CP_BUF_PUT_LIT(&b->lines, "{\"offset\":");
        b->lines.len += cp_fmt_u64(b->lines.ptr + b->lines.len, b->next + i);
        CP_BUF_PUT_LIT(&b->lines, ",\"received_at\":\"");
        b->lines.len += cp_time_format(r->received_at_ms, b->lines.ptr + b->lines.len);
        CP_BUF_PUT_LIT(&b->lines, "\",\"source\":");
        if (cp_buf_append_json_str(&b->lines, r->source.ptr, r->source.len)) return CP_ENOMEM;
        if (r->at.len) {
            CP_BUF_PUT_LIT(&b->lines, ",\"at\":");
            if (cp_buf_append_json_str(&b->lines, r->at.ptr, r->at.len)) return CP_ENOMEM;
        }
        CP_BUF_PUT_LIT(&b->lines, ",\"event\":");
        char *ev = b->lines.ptr + b->lines.len;
        cp_buf_put(&b->lines, r->event.ptr, r->event.len);
        for (char *p = ev, *e = ev + r->event.len; (p = memchr(p, '\n', (size_t)(e - p)));)
            *p = ' ';
        for (char *p = ev, *e = ev + r->event.len; (p = memchr(p, '\r', (size_t)(e - p)));)
            *p = ' ';
        CP_BUF_PUT_LIT(&b->lines, "}\n");
        if (r->received_at_ms > *last_recv) *last_recv = r->received_at_ms;
    }
    return CP_OK;
}

/* Rolls to a new segment when the active one is full; the one left is cut to its
 * batches (so that it ends where its last batch does). */
static int roll_if_full(cp_bronze *b)
{
    segment *s = &b->segs[b->n_segs - 1];
    if ((int64_t)s->size < b->o.segment_bytes || s->n_frames == 0) return CP_OK;
    int rc = do_sync(b);
    if (rc) return rc;
    if (b->alloc_end > s->size && (ftruncate(b->fd, (off_t)s->size) != 0 || fdatasync(b->fd) != 0))
        CP_WARN("log", "cannot cut the padding off %s: %s", s->path, strerror(errno));
    close(b->fd);
    b->fd = -1;
    return open_active(b, 1);
}

/* A failed append leaves the segment as it was: its padding header again, or (when
 * the write went past the reserved space) the file cut back to its batches. */
static void undo_write(cp_bronze *b, const segment *s, int grew)
{
    unsigned char hdr[PAD_HEADER_BYTES];
    if (!grew && b->alloc_end >= s->size + PAD_HEADER_BYTES) {
        pad_encode(hdr, b->alloc_end - s->size - PAD_HEADER_BYTES);
        if (pwrite(b->fd, hdr, sizeof(hdr), (off_t)s->size) == sizeof(hdr)) return;
    }
    if (ftruncate(b->fd, (off_t)s->size) != 0) CP_ERROR("log", "cannot cut a partial write");
    b->alloc_end = 0;
}

/* The disk's free space against min_free_bytes, looked at most every 100 ms while it is
 * above (every time while below). */
static int room_left(cp_bronze *b)
{
    if (b->o.min_free_bytes <= 0) return CP_OK;
    int64_t now = cp_now_ms();
    if (b->room_ok && now - b->room_checked_ms < 100) return CP_OK;
    struct statvfs v;
    if (statvfs(b->dir, &v) != 0) return CP_OK; /* the write itself will say */
    uint64_t free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
    b->room_checked_ms = now;
    b->room_ok = free_bytes >= (uint64_t)b->o.min_free_bytes;
    if (b->room_ok) return CP_OK;
    snprintf(
        b->error, sizeof(b->error),
        "the disk of %s has %llu MB free, below log.min_free (%lld MB): appends wait for space",
        b->dir, (unsigned long long)(free_bytes >> 20), (long long)(b->o.min_free_bytes >> 20));
    CP_LOG_LIMITED(CP_LOG_ERROR, 1, "log", "%s", b->error);
    return CP_EIO;
}

/* Writes len bytes of zeros at pos, page by page (ZERO_PIECE). Returns the bytes
 * written (fewer on a full disk), or -1 with errno. */
static ssize_t write_zeros(cp_bronze *b, uint64_t pos, size_t len)
{
    size_t done = 0;
    while (done < len) {
        size_t piece = ZERO_PIECE - (pos + done) % ZERO_PIECE;
        if (piece > len - done) piece = len - done;
        ssize_t w = pwrite(b->fd, b->zeros, piece, (off_t)(pos + done));
        if (w < 0) return -1;
        done += (size_t)w;
        if ((size_t)w < piece) break;
    }
    return (ssize_t)done;
}

int cp_bronze_append(cp_bronze *b, const cp_bronze_record *recs, size_t n, uint64_t *first)
{
    frame_meta m = {.first = b->next, .count = (uint32_t)n};
    int rc;
    if (n == 0 || n > UINT32_MAX) return CP_EINVAL;
    if ((rc = room_left(b))) return rc;
    if (b->fd < 0 && (rc = open_active(b, 0))) return rc; /* a roll failed: try again */
    if ((rc = roll_if_full(b)) || (rc = format_lines(b, recs, n, &m.last_recv))) return rc;
    size_t bound = ZSTD_compressBound(b->lines.len);
    cp_buf_reset(&b->out);
    if (cp_buf_reserve(&b->out, HEADER_BYTES + bound + PAD_HEADER_BYTES)) return CP_ENOMEM;
    size_t clen =
        ZSTD_compress2(b->cctx, b->out.ptr + HEADER_BYTES, bound, b->lines.ptr, b->lines.len);
    if (ZSTD_isError(clen)) return CP_ENOMEM;
    segment *s = &b->segs[b->n_segs - 1];
    m.clen = (uint32_t)clen;
    m.ulen = (uint32_t)b->lines.len;
    m.pos = s->size;
    meta_encode(&m, (unsigned char *)b->out.ptr);
    size_t total = HEADER_BYTES + clen, wlen = total, step = 0;
    uint64_t end = s->size + total, alloc = b->alloc_end;
    if (b->reserve && alloc < end + PAD_HEADER_BYTES) { /* reserve the next step */
        step = b->o.segment_bytes < RESERVE_STEP ? (size_t)b->o.segment_bytes : RESERVE_STEP;
        alloc = end + PAD_HEADER_BYTES + step; /* (no more than a segment holds) */
    }
    if (alloc >= end + PAD_HEADER_BYTES) { /* the padding moves on behind the batch */
        pad_encode((unsigned char *)b->out.ptr + total, alloc - end - PAD_HEADER_BYTES);
        wlen = total + PAD_HEADER_BYTES;
    }
    ssize_t w = pwrite(b->fd, b->out.ptr, wlen, (off_t)s->size);
    if (w == (ssize_t)wlen && step) {
        ssize_t z = write_zeros(b, end + PAD_HEADER_BYTES, step);
        w = z < 0 ? -1 : w + z;
    }
    wlen += step;
    if (w != (ssize_t)wlen) {
        int saved = errno;
        snprintf(b->error, sizeof(b->error), "writing %s: %s", s->path,
                 w < 0 ? strerror(saved) : "short write (the disk is full)");
        undo_write(b, s, alloc != b->alloc_end);
        CP_LOG_LIMITED(CP_LOG_ERROR, 1, "log", "append to %s failed: %s", s->path,
                       w < 0 ? strerror(saved) : "short write");
        return CP_EIO;
    }
    if (wlen == total && alloc) { /* past the reserved space, or too close to its end */
        if (alloc > end && ftruncate(b->fd, (off_t)end) != 0)
            CP_WARN("log", "cannot cut the reserved space of %s: %s", s->path, strerror(errno));
        alloc = 0;
    }
    b->alloc_end = alloc;
    b->dirty = 1;
    if (b->o.fsync == CP_BRONZE_FSYNC_BATCH ||
        (b->o.fsync == CP_BRONZE_FSYNC_INTERVAL &&
         cp_now_ms() - b->last_sync_ms >= b->o.fsync_interval_ms)) {
        if (do_sync(b)) {
            undo_write(b, s, 0);
            return CP_EIO;
        }
    }
    pthread_mutex_lock(&b->mu);
    rc = push_frame(s, &m);
    if (rc == CP_OK) {
        s->size += total;
        *first = b->next;
        b->next += n;
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

const char *cp_bronze_error(const cp_bronze *b)
{
    return b->error;
}

uint64_t cp_bronze_next_offset(const cp_bronze *b)
{
    return b->next;
}

uint64_t cp_bronze_first_offset(const cp_bronze *b)
{
    return b->n_segs ? b->segs[0].base : 0;
}

static int64_t segment_newest(const segment *s)
{
    int64_t t = INT64_MIN;
    for (size_t i = 0; i < s->n_frames; i++)
        if (s->frames[i].last_recv > t) t = s->frames[i].last_recv;
    return t;
}

int cp_bronze_retain(cp_bronze *b, int64_t now_ms)
{
    uint64_t total = 0;
    for (size_t i = 0; i < b->n_segs; i++) total += b->segs[i].size;
    int removed = 0;
    while (b->n_segs > 1) {
        segment *s = &b->segs[0];
        int too_big = b->o.retention_bytes > 0 && total > (uint64_t)b->o.retention_bytes;
        int too_old = b->o.retention_ms > 0 && segment_newest(s) < now_ms - b->o.retention_ms;
        if (!too_big && !too_old) break;
        if (unlink(s->path) != 0 && errno != ENOENT) return CP_EIO;
        CP_INFO("log", "retention removed %s (%llu bytes)", s->path, (unsigned long long)s->size);
        total -= s->size;
        pthread_mutex_lock(&b->mu);
        cp_free(s->path);
        cp_free(s->frames);
        memmove(b->segs, b->segs + 1, (b->n_segs - 1) * sizeof(segment));
        b->n_segs--;
        pthread_mutex_unlock(&b->mu);
        removed++;
    }
    return removed;
}

int cp_bronze_close(cp_bronze *b)
{
    if (!b) return CP_OK;
    int rc = CP_OK;
    if (b->fd >= 0) {
        rc = do_sync(b);
        close(b->fd);
    }
    for (size_t i = 0; i < b->n_segs; i++) {
        cp_free(b->segs[i].path);
        cp_free(b->segs[i].frames);
    }
    cp_free(b->segs);
    ZSTD_freeCCtx(b->cctx);
    ZSTD_freeDCtx(b->dctx);
    cp_free(b->zeros);
    cp_buf_free(&b->lines);
    cp_buf_free(&b->out);
    pthread_mutex_destroy(&b->mu);
    cp_free(b->dir);
    cp_free(b);
    return rc;
}

/* For reader.c: a copy of the frames from offset `from` on, under the lock. */
int bronze_snapshot(cp_bronze *b, uint64_t from, segment **segs, size_t *n, uint64_t *end);
int bronze_snapshot(cp_bronze *b, uint64_t from, segment **segs, size_t *n, uint64_t *end)
{
    pthread_mutex_lock(&b->mu);
    size_t first = 0;
    while (first + 1 < b->n_segs && b->segs[first + 1].base <= from) first++;
    size_t count = b->n_segs - first;
    segment *copy = cp_calloc(count ? count : 1, sizeof(segment));
    int rc = copy ? CP_OK : CP_ENOMEM;
    for (size_t i = 0; i < count && !rc; i++) {
        const segment *s = &b->segs[first + i];
        copy[i].base = s->base;
        copy[i].n_frames = s->n_frames;
        copy[i].path = cp_strdup(s->path);
        copy[i].frames = cp_calloc(s->n_frames ? s->n_frames : 1, sizeof(frame_meta));
        if (!copy[i].path || !copy[i].frames)
            rc = CP_ENOMEM;
        else if (s->n_frames)
            memcpy(copy[i].frames, s->frames, s->n_frames * sizeof(frame_meta));
    }
    *end = b->next;
    pthread_mutex_unlock(&b->mu);
    *segs = copy;
    *n = count;
    return rc;
}

/* Private to src/log: the on-disk layout of bronze segments.
 *
 * A segment is a sequence of batches, each stored as
 *   [skippable zstd frame: magic 0x184D2A50, size 32, frame_meta]   (ignored by zstd readers)
 *   [zstd frame, content checksum on: the batch's JSON lines]
 * so a segment is a valid multi-frame .zst file. The active segment's space is reserved
 * ahead, RESERVE_STEP at a time, by writing it (a sync of a file that grew writes its
 * size and block map too; of space already written, the data alone): after its last
 * batch comes one more skippable frame, magic 0x184D2A51, padding to the end of the
 * file, which the next batch overwrites and moves on. A rolled segment is cut to its
 * batches. */
#ifndef CP_LOG_INTERNAL_H
#define CP_LOG_INTERNAL_H

#include "clickpulse/bronze.h"

#include "clickpulse/str.h"

#include <pthread.h>
#include <stdint.h>
#include <zstd.h>

#define SKIP_MAGIC       0x184D2A50u
#define META_BYTES       32u
#define HEADER_BYTES     (8u + META_BYTES)
#define SEGMENT_SUFFIX   ".jsonl.zst"
#define PAD_MAGIC        0x184D2A51u
#define PAD_HEADER_BYTES 8u
#define RESERVE_STEP     (1u << 20)
/* Reserved space is written ZERO_PIECE bytes (a page) at a time: one write of a megabyte
 * has the page cache hold it in large folios, and every later sync of a batch written
 * into one writes the whole folio again (measured on ext4: 1 MB a sync, against 5 KB). */
#define ZERO_PIECE 4096u

/* One batch's metadata, as stored (little-endian) in its skippable frame. */
typedef struct frame_meta {
    uint64_t first;    /* offset of the first event */
    uint32_t count;    /* events in the frame */
    uint32_t clen;     /* bytes of the zstd frame that follows */
    uint32_t ulen;     /* bytes of JSON lines inside it */
    uint32_t check;    /* xxh32 of the other 28 bytes */
    int64_t last_recv; /* newest received_at in the batch */
    uint64_t pos;      /* in memory only: file position of the header */
} frame_meta;

typedef struct segment {
    uint64_t base; /* offset of its first event (its name) */
    char *path;
    frame_meta *frames;
    size_t n_frames, cap;
    uint64_t size; /* bytes */
} segment;

/* The log (bronze.c), shared with erase.c. */
struct cp_bronze {
    cp_bronze_options o;
    char *dir;
    segment *segs;
    size_t n_segs, cap_segs;
    int fd;             /* the newest segment, open for appending */
    uint64_t alloc_end; /* its file's size while it ends in padding, else 0 */
    int reserve;        /* space is reserved ahead (when the log syncs) */
    char *zeros;        /* ZERO_PIECE bytes of zeros, written to reserve space */
    uint64_t next;
    int64_t last_sync_ms;
    int dirty;
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    cp_buf lines, out;
    pthread_mutex_t mu;      /* guards segs for readers */
    char error[320];         /* what the last failed append met */
    int64_t room_checked_ms; /* when the free space was last looked at */
    int room_ok;
};

int bronze_sync_dir(const char *dir);
/* Splits a line we wrote into e (reader.c). */
int bronze_parse_line(cp_slice line, cp_bronze_entry *e);

/* A padding frame's header, for `content` bytes after it; and back (0 when it is one). */
void pad_encode(unsigned char out[PAD_HEADER_BYTES], uint64_t content);
int pad_decode(const unsigned char in[PAD_HEADER_BYTES], uint64_t *content);

void meta_encode(const frame_meta *m, unsigned char out[HEADER_BYTES]);
/* Returns 0 when in[] holds a well-formed header, with its fields in m. */
int meta_decode(const unsigned char in[HEADER_BYTES], frame_meta *m);
/* Checks a decompressed batch: count lines, the first starting with its offset. */
int batch_lines_ok(const char *data, size_t len, const frame_meta *m);

#endif

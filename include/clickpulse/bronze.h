/* The bronze log: the durable, append-only source of truth (DESIGN.md sections 2
 * and 4). Events are appended in batches; each batch becomes one zstd frame of
 * JSON lines
 *     {"offset":N,"received_at":"…","source":"…","at":"…","event":{…as received…}}
 * ("at", where the source delivered it — a file position, a Kafka partition and
 * offset — is left out when empty)
 * preceded by a small skippable frame holding the batch's offsets and sizes.
 * Segment files (<data_dir>/log/<first offset, 20 digits>.jsonl.zst) stay readable
 * as they are by DuckDB's read_json and by zstdcat. Offsets increase by one per
 * event, from 0, without gaps.
 *
 * One writer thread at a time per log; readers may run alongside the writer. */
#ifndef CLICKPULSE_BRONZE_H
#define CLICKPULSE_BRONZE_H

#include "clickpulse/str.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum cp_bronze_fsync {
    CP_BRONZE_FSYNC_BATCH = 0,    /* every append is on disk when it returns */
    CP_BRONZE_FSYNC_INTERVAL = 1, /* at most every interval, and at close */
    CP_BRONZE_FSYNC_OFF = 2,      /* left to the kernel, and at close */
} cp_bronze_fsync;

typedef struct cp_bronze_options {
    const char *dir; /* the log directory (created when missing) */
    cp_bronze_fsync fsync;
    int64_t fsync_interval_ms;
    int64_t segment_bytes;   /* roll to a new segment past this size (default 128 MiB) */
    int64_t retention_bytes; /* keep at most this much (0: no limit) */
    int64_t retention_ms;    /* drop segments whose newest event is older (0: keep) */
    int compression_level;   /* zstd level (default 1; negative levels are faster) */
    int64_t min_free_bytes;  /* appends fail (CP_EIO) while the disk has less free (0: off) */
} cp_bronze_options;

/* One event to append: when and from where it was received, and its JSON text.
 * Line breaks inside the JSON (whitespace only, in valid JSON) become spaces. */
typedef struct cp_bronze_record {
    int64_t received_at_ms;
    cp_slice source;
    cp_slice at; /* delivery position within the source, or empty */
    cp_slice event;
} cp_bronze_record;

/* One event read back. Slices point into the reader and stay valid until the next
 * call to cp_bronze_reader_next. */
typedef struct cp_bronze_entry {
    uint64_t offset;
    int64_t received_at_ms;
    cp_slice source;
    cp_slice at;
    cp_slice event;
    cp_slice line; /* the whole line, without its newline */
} cp_bronze_entry;

typedef struct cp_bronze cp_bronze;
typedef struct cp_bronze_reader cp_bronze_reader;

/* What recovery found at open. */
typedef struct cp_bronze_recovery {
    uint64_t segments, frames, events;
    uint64_t cut_bytes; /* bytes cut from a torn or corrupt tail */
} cp_bronze_recovery;

void cp_bronze_options_default(cp_bronze_options *o);

/* Opens (creating) the log in o->dir and recovers it: every frame of the newest
 * segment is verified (zstd content checksum, offsets); a torn or corrupt tail is cut,
 * with a log line; earlier segments are checked by their frame headers. rec may be
 * NULL. Returns 0, CP_EIO, CP_ECORRUPT (damage before the last segment's tail, which
 * is never cut silently) or CP_ENOMEM. */
int cp_bronze_open(const cp_bronze_options *o, cp_bronze **out, cp_bronze_recovery *rec);
/* Syncs and closes. Returns 0 or CP_EIO when the final sync failed. */
int cp_bronze_close(cp_bronze *b);

/* Appends n records as one frame. On success *first gets the offset of the first
 * (the others follow) and, with the batch policy, the records are durable. On
 * failure nothing of the batch is visible (a partial write is cut) and the log stays
 * usable: CP_EIO (the disk: full, read-only, …), CP_ENOMEM, CP_EINVAL (n == 0). */
int cp_bronze_append(cp_bronze *b, const cp_bronze_record *recs, size_t n, uint64_t *first);
/* What the last failed append or sync met ("writing …: No space left on device"). */
const char *cp_bronze_error(const cp_bronze *b);
/* Makes everything appended so far durable. */
int cp_bronze_sync(cp_bronze *b);
/* The offset the next appended event will get (= number of events ever appended). */
uint64_t cp_bronze_next_offset(const cp_bronze *b);
/* The oldest offset still in the log (retention may have dropped earlier ones). */
uint64_t cp_bronze_first_offset(const cp_bronze *b);
/* Applies retention by size and age at time now_ms; the active segment is kept.
 * Returns the number of segments removed, or a negative error. */
int cp_bronze_retain(cp_bronze *b, int64_t now_ms);

/* Erasure (GDPR): rewrites every segment holding an event for which match returns 1,
 * that event's line replaced by a tombstone that keeps its offset, time and source
 * and drops the event: {"offset":N,"received_at":"…","source":"…","event":null}.
 * Offsets, frames and the files' format stay as they were; each changed segment is
 * written to a new file, synced and renamed over the old one. The caller keeps
 * appends away meanwhile. *erased gets the number of events erased. Returns 0,
 * CP_EIO, CP_ECORRUPT, CP_ENOMEM or match's own error. */
typedef int (*cp_bronze_match)(void *ud, const cp_bronze_entry *e);
int cp_bronze_erase(cp_bronze *b, cp_bronze_match match, void *ud, uint64_t *erased);
/* 1 when an entry read back is an erased event's tombstone. */
static inline int cp_bronze_entry_erased(const cp_bronze_entry *e)
{
    return e->event.len == 4 && memcmp(e->event.ptr, "null", 4) == 0;
}

/* Reads events from offset from (or the oldest kept, if older) up to the offset the
 * log had when the reader was opened. */
int cp_bronze_reader_open(cp_bronze *b, uint64_t from, cp_bronze_reader **out);
/* Returns 1 with the next entry, 0 at the end, or a negative error (CP_ECORRUPT). */
int cp_bronze_reader_next(cp_bronze_reader *r, cp_bronze_entry *e);
void cp_bronze_reader_close(cp_bronze_reader *r);

#endif

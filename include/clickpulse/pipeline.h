/* The pipeline (DESIGN.md sections 2 and 5): decoded events are validated,
 * deduplicated on messageId, appended to the bronze log in batches, enriched
 * and written to the silver tables in the same DuckDB transaction that moves
 * the checkpoints, so that every accepted event reaches silver exactly once
 * whatever moment the process dies at.
 *
 * Sources drive it: submit each decoded event or reject of a chunk of input,
 * then flush with the source's cursor. The pipeline does not know where events
 * come from beyond the source name and delivery position they carry. */
#ifndef CLICKPULSE_PIPELINE_H
#define CLICKPULSE_PIPELINE_H

#include "clickpulse/bronze.h"
#include "clickpulse/config.h"
#include "clickpulse/event.h"
#include "clickpulse/store.h"

#include <stdint.h>

typedef struct cp_pipeline cp_pipeline;

typedef struct cp_pipeline_stats {
    uint64_t accepted;    /* new events appended to the log */
    uint64_t duplicates;  /* deliveries of a messageId already accepted */
    uint64_t redelivered; /* the same delivery seen again after a restart (not a duplicate) */
    uint64_t late;        /* accepted events older than the watermark */
    uint64_t rejected[CP_REJECT__COUNT];
    uint64_t batches;
    /* accepted events silver could not store: dead letters with reason store_error, and
     * not in silver (counted in accepted until silver found them out) */
    uint64_t poisoned;
    /* the dedup window: messageIds in its table, the table's bytes (within
     * pipeline.dedup_memory), and the messageIds it moved to disk to stay within them */
    uint64_t dedup_entries, dedup_bytes, dedup_cold;
    /* the live view: its keys' and sessions' bytes (within pipeline.live_memory), and the
     * events of identities its sessions' table had no room for */
    uint64_t live_bytes, live_untracked;
    /* events and bytes held in memory for silver (pipeline.queue_events, queue_memory) */
    uint64_t queue_events, queue_bytes;
} cp_pipeline_stats;

/* Opens the log and the store under c->data_dir, recovers the log, brings silver up
 * to the log's end (replaying what a crash left unapplied) and rebuilds the dedup
 * window. On error writes a message into err. */
int cp_pipeline_open(const cp_config *c, cp_pipeline **out, char *err, size_t errlen);
/* The most memory the pipeline holds with c's settings (docs/security.md): the queue for
 * silver, the dedup window's table and the fixed part of its store on disk, the live view
 * (twice its keys' bound while a snapshot merges them, and its visitor sketches). Not in it:
 * DuckDB's (store.memory_limit) and the Bloom filters of the dedup's files on disk. */
size_t cp_pipeline_memory(const cp_config *c);
/* Flushes nothing: call cp_pipeline_flush first. Closes log and store. */
void cp_pipeline_close(cp_pipeline *p);

/* One decoded event from a source; at is its delivery position within the source
 * (used to tell a redelivery after a restart from a duplicate). The event is used
 * during the call only (what the log needs is copied). */
int cp_pipeline_submit(cp_pipeline *p, const cp_event *ev, cp_slice source, cp_slice at);
/* Starts loading what submitting ev will look up (its dedup slot): called a few events
 * ahead of their cp_pipeline_submit, it overlaps their cache misses. */
void cp_pipeline_prefetch(cp_pipeline *p, const cp_event *ev);
/* One rejected input from a source; it becomes a dead letter in the batch. */
int cp_pipeline_reject(cp_pipeline *p, const cp_reject *r, cp_slice source, cp_slice at,
                       int64_t received_at_ms);
/* Makes the batch durable in the log and hands it to the silver writer thread,
 * which commits its rows, dead letters, duplicates and checkpoints (the log's and,
 * when cursor_name is set, the source's) in one transaction. Returns once the log
 * has it; on a log error nothing of the batch is kept. A silver failure shows in
 * later calls (and a restart applies the log to silver). */
int cp_pipeline_flush(cp_pipeline *p, const char *cursor_name, int64_t cursor);
/* Group commit for concurrent producers (the collector): with the caller's lock held,
 * seal takes the batch gathered so far (NULL when empty); commit then appends it to
 * the log and hands it to silver WITHOUT needing that lock, so producers keep
 * submitting meanwhile — commits are ordered among themselves. On a log error,
 * commit returns it and gives the batch back in *failed, which the caller abandons
 * (undoing its dedup entries) with the lock held again. cp_pipeline_flush is seal
 * and commit together. */
typedef struct cp_pipeline_batch cp_pipeline_batch;
cp_pipeline_batch *cp_pipeline_seal(cp_pipeline *p);
int cp_pipeline_commit(cp_pipeline *p, cp_pipeline_batch *b, cp_pipeline_batch **failed);
void cp_pipeline_abandon(cp_pipeline *p, cp_pipeline_batch *b);
/* Records another named position in the open batch (committed by the next flush). */
int cp_pipeline_note_cursor(cp_pipeline *p, const char *cursor_name, int64_t cursor);
/* 1 when the pipeline can accept; else 0 with the reason in reason (the silver writer
 * failed: silver stays behind the log until a restart applies it). Thread-safe. */
int cp_pipeline_healthy(cp_pipeline *p, char *reason, size_t len);
/* Events gathered or waiting for silver: the open batch and the writer's queue (those
 * in memory and those waiting in the log alone). */
size_t cp_pipeline_backlog(cp_pipeline *p);
/* The writer's queue alone (the backlog less the open batch), read without the lock the
 * sources share: a first look before a request's work. Thread-safe. */
size_t cp_pipeline_queued(cp_pipeline *p);
/* Events that have waited for silver in the log alone (memory was full: the writer read
 * them back), since open. Thread-safe. */
uint64_t cp_pipeline_spilled(cp_pipeline *p);
/* Whether the silver writer waits in the idle scheduling class now (docs/pipeline.md), and
 * how many times it has been taken out of it since open (in *raised, when not NULL). */
int cp_pipeline_writer_idle(cp_pipeline *p, uint64_t *raised);
/* Waits until every batch handed over is committed to silver. */
int cp_pipeline_sync(cp_pipeline *p);
/* Read-your-writes for queries: waits at most timeout_ms until silver has every batch
 * handed over before the call (batches handed over meanwhile are not waited for).
 * Returns 0, CP_EAGAIN on timeout, or CP_EDB when the silver writer failed. Thread-safe. */
int cp_pipeline_catch_up(cp_pipeline *p, int timeout_ms);
/* A source's committed cursor (0 and found = false when none); syncs first. */
int cp_pipeline_cursor(cp_pipeline *p, const char *cursor_name, int64_t *cursor, bool *found);

/* Brings the tables derived from silver's events up to date: sessions (DESIGN.md
 * section 5 rules), identity_map and customers — the rows of the people with events
 * since the last refresh, or all of them the first time. The result equals a
 * recomputation from all events. Thread-safe against the sources (it holds only the
 * silver writer); the error goes to err. */
int cp_pipeline_refresh_derived(cp_pipeline *p, char *err, size_t errlen);
/* The same, for single-threaded callers: the error is cp_pipeline_error's. */
int cp_pipeline_refresh_sessions(cp_pipeline *p);
/* Into an empty silver (no events, no sessions): the silver writer keeps the sessions, the
 * customers and the identity map as it writes (in pipeline.derived_memory), and the next
 * refresh writes them and recomputes only the sessions of identities whose events came out
 * of order; the tables are the ones a recomputation gives. Nothing happens otherwise. */
int cp_pipeline_track_derived(cp_pipeline *p);
/* Applies the log's retention (log.retention_bytes, log.retention) at now_ms; returns the
 * number of segments removed or a negative error. */
int cp_pipeline_retain(cp_pipeline *p, int64_t now_ms);
/* Silver retention (silver.retention): deletes the rows older than that (events and
 * orders by event time, sessions by their end, dead letters and duplicates by receipt,
 * the live minutes) at now_ms; *rows gets how many. */
int cp_pipeline_retain_silver(cp_pipeline *p, int64_t now_ms, int64_t *rows);

/* What forgetting a person removed. */
typedef struct cp_forget_stats {
    uint64_t log_events;                         /* bronze events turned into tombstones */
    int64_t events, orders, sessions, customers; /* silver rows */
    int64_t other_rows; /* order items, identity map, duplicates, dead letters, ML rows */
    int64_t gold_rows;  /* rows of gold tables with a person's id column */
} cp_forget_stats;
/* Erases a person (GDPR erasure): every event with their user id, or with one of their
 * anonymous ids and no user id, becomes a tombstone in the bronze log (cp_bronze_erase);
 * then in one transaction their rows go from silver (events, orders and items, sessions,
 * customers, identity map, duplicates, dead letters whose raw bytes name them), the ML
 * tables and every gold table with a user_id, anonymous_id, identity or customer_id
 * column; then a checkpoint folds the write-ahead log. Aggregates (daily sales and the
 * like) lose them at their model's next run. Appends wait meanwhile. Idempotent: after
 * a failure part-way, running it again finishes the job. */
int cp_pipeline_forget(cp_pipeline *p, const char *user_id, cp_forget_stats *st, char *err,
                       size_t errlen);

/* Rebuilds every silver table from the bronze log. */
int cp_pipeline_replay(cp_pipeline *p);

const cp_pipeline_stats *cp_pipeline_stats_get(cp_pipeline *p);
cp_store *cp_pipeline_store(cp_pipeline *p);
/* The real-time operators fed by the silver writer (thread-safe snapshots). */
struct cp_live *cp_pipeline_live(cp_pipeline *p);
const char *cp_pipeline_error(const cp_pipeline *p);

/* Enrichment helpers, exposed for tests. What a user agent may say: every value the
 * parser gives (silver stores each column as an ENUM of them). */
#define CP_UA_DEVICES(X) X("unknown") X("bot") X("tablet") X("mobile") X("desktop")
#define CP_UA_BROWSERS(X)                                                                          \
    X("Headless Chrome")                                                                           \
    X("Edge") X("Samsung Internet") X("Firefox") X("Chrome") X("Safari") X("bot") X("other")
#define CP_UA_OSES(X) X("iOS") X("Android") X("Windows") X("macOS") X("Linux") X("other")
typedef struct cp_ua_info {
    const char *device_type; /* desktop, mobile, tablet, bot */
    const char *browser, *os;
    bool is_bot;
} cp_ua_info;
void cp_ua_parse(cp_slice ua, cp_ua_info *out);
/* The domain of an e-mail address, lower-cased into buf (at least 256 bytes); empty if none. */
cp_slice cp_email_domain(cp_slice email, char *buf);
/* An event's country: context.location.country (a two-letter code upper-cased into buf, at
 * least 3 bytes; anything else as sent), else the region subtag of the locale — language,
 * an optional four-letter script, then two letters ("de-DE", "pt_BR.UTF-8", "zh-Hant-TW" →
 * DE, BR, TW; "es-419", "en" → none). */
cp_slice cp_country(cp_slice country, cp_slice locale, char *buf);
/* Checks an event against the rules for its kind; returns 1 when valid, else fills r. */
int cp_validate_event(const cp_event *ev, cp_reject *r);

#endif

/* Private to src/pipeline: the pipeline's state, shared by pipeline.c (the live
 * path), writer.c (the silver writer thread) and recovery.c (opening,
 * catch-up, replay). */
#ifndef CP_PIPELINE_STATE_H
#define CP_PIPELINE_STATE_H

#include "clickpulse/arena.h"
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#define LOG_CHECKPOINT "log"
#define MAX_CURSORS    8

/* An accepted event waiting for silver: its log offset and what the writer
 * needs besides the event's own bytes (which it decodes again). */
typedef struct pending_event {
    int64_t offset, received_at_ms;
    uint64_t msg, delivery;
    bool late;
    cp_slice source, at, raw;
} pending_event;

typedef struct named_cursor {
    const char *name;
    int64_t value;
} named_cursor;

/* One batch on its way to silver; owns copies of everything it refers to. */
typedef struct silver_batch {
    cp_arena arena;
    pending_event *events;
    size_t n_events, cap_events;
    cp_dead_letter *dead;
    size_t n_dead, cap_dead;
    cp_duplicate *dups;
    size_t n_dups, cap_dups;
    named_cursor cursors[MAX_CURSORS];
    int n_cursors;
    int64_t log_end;    /* the log's next offset once this batch is in it */
    uint64_t *inserted; /* its dedup insertions, undone if the log append fails */
    size_t n_ins, cap_ins;
    /* Spilled (memory was full): the n_events events are read back from the log, from
     * offset first on; events is NULL and late holds their late flags, a bit each. */
    bool spilled;
    int64_t first;
    uint8_t *late;
    size_t bytes;      /* its memory, as counted against pipeline.queue_memory once queued */
    uint64_t seq;      /* the writer's count of batches handed, at this one (the last merged) */
    int64_t queued_ms; /* when it was handed to the writer (the first merged) */
} silver_batch;

/* The silver writer: a thread that commits batches to the store, in order,
 * while the next batch is decoded and logged. Whatever has queued up by the time
 * it is free goes into one transaction, so many small batches (the collector's
 * group commits) cost one DuckDB commit. Batches hold their events in memory up to
 * pipeline.queue_events events in all; beyond, batches are spilled: their events wait
 * in the log alone and the writer reads them back (consecutive spilled batches merged,
 * up to WRITER_SPILL_EVENTS events each). How far silver may fall behind is the
 * sources' bound (collector.max_backlog, kafka's pause). At most WRITER_QUEUE batches
 * wait; beyond, enqueueing blocks. The collector's group commits at low load hold a
 * few events each, over a thousand a second: the batch bound leaves room for about a
 * minute of them, so that a refresh holding the writer off does not hold
 * acknowledgements up. */
#define WRITER_QUEUE        65536
#define WRITER_SPILL_EVENTS 50000
/* What spilled batches may keep in memory beside pipeline.queue_memory: a quarter of it,
 * 1 MB at least. */
#define SPILLED_MEMORY(queue_memory)                                                               \
    ((queue_memory) / 4 > (1u << 20) ? (queue_memory) / 4 : (1u << 20))
/* DuckDB's row group: a transaction adding this many rows or more to a table has its row
 * groups compressed and written as they fill and merged at the commit; a smaller one is
 * copied into the table at the commit and logged in DuckDB's WAL row by row, then
 * compressed at the next checkpoint (measured: about a quarter more of the writer's time
 * an event, bench/RESULTS.md). */
#define WRITER_ROW_GROUP 122880
/* A transaction takes queued batches up to this many events (one batch at least) — on
 * two cores, silver catching up from the log took 310,000 events/s in transactions of
 * four row groups against 183,000 at 100,000 events (bench/RESULTS.md). */
#define WRITER_TXN_EVENTS (4 * WRITER_ROW_GROUP)
/* A transaction with fewer than a row group's events stays open WRITER_LINGER_MS for
 * more, and up to WRITER_BULK_MS when they come at a pace filling a row group in that
 * time (not while anyone waits for silver); its rows are written, and counted live, as
 * they are picked up. */
#define WRITER_LINGER_MS 100
#define WRITER_BULK_MS   3000
/* While a transaction lingers, a batch coming within WRITER_PICKUP_MS of the writer's
 * last pickup does not wake it: it picks such batches up at most that much later (the
 * collector's group commits, thousands a second at the peak, each a wake-up and a
 * context switch otherwise). Batches further apart wake it at once, as do
 * WRITER_WAKE_EVENTS events, someone waiting for silver, or a stop. */
#define WRITER_PICKUP_MS   5
#define WRITER_WAKE_EVENTS (WRITER_ROW_GROUP / 8)
/* A failed transaction is tried again after WRITER_RETRY_FIRST_MS, then after pauses
 * doubling up to WRITER_RETRY_MAX_MS. */
#define WRITER_RETRY_FIRST_MS 250
#define WRITER_RETRY_MAX_MS   5000
#define WRITER_IDLE_LOCK_MS   2 /* at least a millisecond: cp_now_ms is whole ones */
typedef struct silver_writer {
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    silver_batch *queue[WRITER_QUEUE];
    int head, count, busy, stop, failed;
    int syncing;           /* callers waiting for silver: no lingering */
    int lingering;         /* the writer waits for its next pickup: not woken per batch */
    size_t fresh_events;   /* events queued since the writer's last pickup */
    int64_t picked_ms;     /* when it last took batches */
    int held;              /* a caller uses the store's connection: the writer waits */
    size_t queued_events;  /* events held in memory by queued batches */
    size_t queued_bytes;   /* the memory of the batches holding their events (batch_bytes) */
    size_t spilled_bytes;  /* the memory of spilled batches (what the log does not hold) */
    size_t spilled_events; /* events of spilled batches, in the log only */
    /* Their sum, and failed, for readers on the sources' path without the lock: a writer
     * holding it may be descheduled (it runs at background priority). */
    atomic_size_t backlog;
    atomic_int failing;
    atomic_ullong spilled_total; /* events spilled since open (read without the lock) */
    int taken;                   /* queued batches in the writer's open transaction */
    uint64_t handed, applied;    /* batches enqueued / committed */
    uint64_t failures;           /* failed tries since the last commit */
    /* The idle class (include/clickpulse/thread.h): the writer enters it when it has
     * caught up (nothing queued); it is taken out — by whoever finds it so,
     * and back at background.nice until it has caught up again — when somebody waits
     * for silver, when a batch has waited idle_lag_ms to be picked up (the live view
     * counts events as the writer picks them up: on cores kept busy, by other processes
     * too, it stays within about that of the events), when the backlog
     * reaches idle_backlog (half the sources' bound), or when an enqueuer waits over
     * WRITER_IDLE_LOCK_MS for the lock (the writer holding it was taken off its core). */
    int may_idle;
    pid_t tid;
    atomic_int idle;
    /* Pressed: the backlog reached idle_backlog — the sources are near their bound and
     * refuse at it, and only the writer makes room — so it runs at the process's own
     * nice value (nice_base, not nice_bg: background.nice) until it has caught up, where
     * the process may raise a thread (CAP_SYS_NICE). Set and cleared with the lock held. */
    int nice_base, nice_bg;
    int pressed;
    atomic_ullong raised; /* times taken out of it */
    char err[512];
    cp_event_decoder *dec;
    const pending_event *cur; /* the event being decoded */
} silver_writer;

struct cp_pipeline_batch; /* = silver_batch */

/* Poison rows: accepted events silver could not store (the store refused the row). The
 * transaction holding one is rolled back and tried again at once with the event turned
 * into a dead letter (reason store_error), so one row never stops silver. A row is
 * poison when it fails twice in a row (a first failure may be the store's, not the row's:
 * the transaction is tried again at once with it). Offsets found so far; the writer and
 * the replay both use them. */
typedef struct poison_set {
    int64_t *offsets;
    size_t n, cap;
    int64_t suspect;     /* the row that failed last, -1: none */
    bool found;          /* a row failed in the transaction being written */
    char why[320];       /* the store's message for the last one */
    atomic_ullong total; /* events turned into dead letters since open */
} poison_set;

struct cp_pipeline {
    cp_bronze *log;
    cp_store *store;
    dedup *dd;
    silver_ctx silver;
    cp_live *live;
    int64_t lateness_ms, session_timeout_ms, dedup_window_ms, silver_retention_ms;
    int64_t store_min_free; /* store.min_free, for the disk of store_dir */
    size_t dedup_memory;    /* pipeline.dedup_memory */
    size_t live_memory;     /* pipeline.live_memory */
    size_t derived_memory;  /* pipeline.derived_memory */
    size_t queue_memory;    /* pipeline.queue_memory */
    size_t queue_events;    /* pipeline.queue_events: events held in memory for silver */
    size_t idle_backlog;    /* the writer leaves the idle class from this backlog on */
    int64_t idle_lag_ms;    /* background.idle_lag: or when a batch waited this long */
    char store_dir[4096];
    int64_t max_time;          /* the watermark's source: newest accepted event time */
    silver_batch *open;        /* the batch being gathered */
    pthread_mutex_t append_mu; /* log appends and their hand-over to the writer, in order */
    cp_bronze_record *recs;    /* scratch for appends, under append_mu */
    size_t cap_recs;
    silver_writer w;
    poison_set poison;
    cp_pipeline_stats stats;
    char err[512];
};

/* silver.c: the event at offset into silver, or — when it is poison — its dead letter;
 * a row the store refuses is recorded as poison (p->poison.found) and CP_EDB returned. */
int silver_write_or_isolate(cp_pipeline *p, const cp_event *ev, int64_t offset, uint64_t msg,
                            uint64_t delivery, cp_slice source, cp_slice at, bool late);
/* After a rollback: the live view and the order ids back to what silver holds. */
void silver_back(cp_pipeline *p);

/* recovery.c: the entries a delivery received at recv_ms may match that the dedup
 * table dropped, from silver (and the open batch), before it is looked up. */
int dedup_reach(cp_pipeline *p, int64_t recv_ms);

/* writer.c */
int writer_start(cp_pipeline *p);
/* Queues a batch (blocks while the queue is full); the writer frees it once committed. */
int writer_enqueue(cp_pipeline *p, silver_batch *b);
/* Events and bytes the queued batches hold in memory. */
void writer_held(silver_writer *w, uint64_t *events, uint64_t *bytes);
/* Waits until every queued batch is committed; returns CP_EDB when one failed. */
int writer_sync(cp_pipeline *p);
int writer_catch_up(cp_pipeline *p, int timeout_ms);
/* 1 (with the reason in p->err) while the writer is failing and retrying. */
int writer_failed(cp_pipeline *p);
/* writer_sync, then keeps the writer off the store's connection (new batches queue)
 * until writer_release, so that the caller may use it: a DuckDB connection serves one
 * thread at a time. */
int writer_hold(cp_pipeline *p);
void writer_release(cp_pipeline *p);
void writer_stop(cp_pipeline *p);
void batch_free(silver_batch *b);
/* pipeline.c: b (in the log) as a spilled batch: appended to into when given (a spilled
 * batch ending where b starts), else to a new one; frees b. NULL when out of memory (b
 * is left as it was). */
silver_batch *batch_spill(silver_batch *into, silver_batch *b);

#endif

/* Private to src/pipeline. */
#ifndef CP_PIPELINE_INTERNAL_H
#define CP_PIPELINE_INTERNAL_H

#include "clickpulse/live.h"
#include "clickpulse/pipeline.h"

#include <stdint.h>

/* Dedup: messageId hashes seen within a time window (to the second, rounded up), with
 * the latest accepted delivery of each. Older entries are swept (see dedup.c); past
 * max_bytes of memory the older ones move to a cold part on disk (dedup_cold.c). */
typedef struct dedup dedup;
typedef enum dedup_verdict { DEDUP_NEW, DEDUP_SAME_DELIVERY, DEDUP_DUPLICATE } dedup_verdict;

/* max_bytes: the table's memory, both tables while it moves (0: unbounded, no cold part);
 * cold_dir: where the cold part lives (made empty). NULL with err set on failure. */
dedup *dedup_new(int64_t window_ms, size_t max_bytes, const char *cold_dir, char *err,
                 size_t errlen);
void dedup_free(dedup *d);
/* Brings msg's slot into the cache ahead of its dedup_check. */
void dedup_prefetch(const dedup *d, uint64_t msg);
/* Looks msg up; a miss inserts it. Returns the verdict, or -1 when out of memory. */
int dedup_check(dedup *d, uint64_t msg, uint64_t delivery, int64_t recv_ms);
/* The newest receive time seen (INT64_MIN when none): entries that must not move the
 * window (rejected deliveries, whose times may come from another clock) use it. */
int64_t dedup_newest(const dedup *d);
/* Whether every entry a delivery received at recv_ms may match is in the table; when not,
 * the caller loads the missing ones (dedup_near, dedup_load, dedup_floor) first. */
bool dedup_covers(const dedup *d, int64_t recv_ms);
/* Keeps the entries near recv_ms through the next move (call before loading them). */
void dedup_near(dedup *d, int64_t recv_ms);
/* An accepted delivery from silver, unless the table holds a later one of msg; loads go
 * from the latest accepted back. Returns 0, or -1 when out of memory. */
int dedup_load(dedup *d, uint64_t msg, uint64_t delivery, int64_t recv_ms);
/* Every entry received at or after floor_ms is in the table now. */
void dedup_floor(dedup *d, int64_t floor_ms);
int64_t dedup_floor_of(const dedup *d);
/* Removes msg (undoing an insert whose batch failed). */
void dedup_remove(dedup *d, uint64_t msg);
size_t dedup_size(const dedup *d);
/* Entries in the cold part (written since the start; some may have been dropped). */
size_t dedup_cold_size(const dedup *d);
/* The table's memory now, in bytes. */
size_t dedup_table_bytes(const dedup *d);
/* Why the last call returning -1 failed (memory, or the cold part's message). */
const char *dedup_error(const dedup *d);

/* The cold part (dedup_cold.c). */
typedef struct dedup_cold dedup_cold;
/* Its memory beside its files' Bloom filters: two write buffers with their filters, the
 * block cache. */
#define DEDUP_COLD_MEMORY ((size_t)40 << 20)
dedup_cold *dedup_cold_open(const char *dir, char *err, size_t errlen);
/* Closes it and removes its files. */
void dedup_cold_close(dedup_cold *c);
const char *dedup_cold_error(const dedup_cold *c);
/* Adds to the pending write; dedup_cold_flush writes what is pending (0 or -1). */
void dedup_cold_add(dedup_cold *c, uint64_t msg, uint32_t delivery, int64_t recv_ms);
int dedup_cold_flush(dedup_cold *c);
/* 1 found (*delivery, *recv_ms), 0 not, -1 error. */
int dedup_cold_get(dedup_cold *c, uint64_t msg, uint32_t *delivery, int64_t *recv_ms);
int dedup_cold_remove(dedup_cold *c, uint64_t msg);
/* Entries received before floor_ms may be dropped. */
void dedup_cold_floor(dedup_cold *c, int64_t floor_ms);

/* Silver rows from one accepted event (silver.c). */
#define UA_CACHE 1024
typedef struct ua_slot {
    uint64_t hash;
    cp_ua_info info;
} ua_slot;

typedef struct silver_ctx {
    cp_store *store;
    cp_live *live; /* the real-time operators see every event written */
    ua_slot ua_cache[UA_CACHE];
    char email_domain[256];
    char country[3];
    /* The order_ids silver holds (hashes; open addressing, 0 empty): an order is one order
     * by order_id — a later Order Completed of one adds no order (docs/pipeline.md). */
    uint64_t *order_ids;
    size_t order_ids_cap, order_ids_n;
    /* The exchange rates (currency_rates, by currency then day) and the reporting currency:
     * the live view counts revenue in it, as gold does. */
    struct silver_rate *rates;
    size_t n_rates, cap_rates;
    char reporting[4];
    struct sess_track *track;    /* sessions kept as events are written, when set */
    struct people_track *people; /* customers and the identity map, likewise */
} silver_ctx;
/* The rates from the store (after cp_store_set_currency). */
int silver_rates_load(silver_ctx *s);
/* The order_ids from silver's committed orders (at open, after a rollback or a replay's
 * reset, after rows were deleted). */
int silver_orders_load(silver_ctx *s);
void silver_orders_free(silver_ctx *s);
void silver_rates_free(silver_ctx *s);
/* What the sessions' rules read of a silver row. */
cp_session_event session_event_of(const cp_silver_event *r);
int silver_write(silver_ctx *s, const cp_event *ev, int64_t offset, uint64_t msg_hash,
                 uint64_t delivery_hash, cp_slice source, bool late);

/* Silver's columns of a few names (the call type, the kind, what the user agent says) as
 * ENUMs of them: a byte a row instead of a string. */
int silver_enums(cp_store *s);

/* Hashes used for dedup. */
uint64_t hash_message(cp_slice message_id);
uint64_t hash_delivery(cp_slice source, cp_slice at);
/* The dedup key of a rejected delivery (no messageId to go by): its position. */
static inline uint64_t reject_key(uint64_t delivery)
{
    return delivery ^ 0x9e3779b97f4a7c15ull;
}

/* Sessions (sessions.c): one identity's current session as the rules build it, from its
 * events in event-time order (then by offset). */
#define SESS_FIELDS 9
typedef struct sess_state {
    int open;
    int64_t start_ms, last_ms, last_page_ms;
    int64_t events, pageviews;
    bool ua_bot, product_view, cart, checkout, purchase, other_kinds;
    int64_t *gaps; /* between page views, kept while the session has nothing else */
    size_t n_gaps, cap_gaps;
    cp_buf text; /* the text fields, one after another */
    uint32_t off[SESS_FIELDS], len[SESS_FIELDS];
} sess_state;
/* Adds e: a session it does not belong to is closed first (emit gets its row). */
int sess_add(sess_state *b, int64_t timeout_ms, const cp_session_event *e,
             int (*emit)(void *ud, const cp_session_row *r), void *ud);
/* The open session, if any, to emit, and closed. */
int sess_close(sess_state *b, int (*emit)(void *ud, const cp_session_row *r), void *ud);
void sess_state_free(sess_state *b);
/* The memory its text and gaps hold. */
size_t sess_state_bytes(const sess_state *b);
/* Recomputes the sessions of every identity (since < 0) or of those with events past offset
 * since (or CP_SESSIONS_TODO's), each from all its events. */
int sessions_refresh(cp_store *s, int64_t timeout_ms, int64_t since);

/* Sessions kept by the silver writer as it writes (session_track.c), for an ingest or a
 * replay into an empty silver; max_bytes bounds its memory (past it, it gives up). */
typedef struct sess_track sess_track;
sess_track *sess_track_new(int64_t timeout_ms, size_t max_bytes);
void sess_track_free(sess_track *t);
/* e, just written to silver in the open batch: a session it ends is added to the batch. */
int sess_track_add(sess_track *t, cp_store *s, const cp_session_event *e);
/* Gives up (a batch rolled back): the end recomputes every session. */
void sess_track_abandon(sess_track *t);
bool sess_track_active(const sess_track *t);
size_t sess_track_bytes(const sess_track *t);
/* The identities set aside so far (their sessions are recomputed at the end). */
size_t sess_track_aside(const sess_track *t);

/* Customers and the identity map kept by the silver writer as it writes (people_track.c),
 * beside the sessions; max_bytes bounds its memory (past it, it gives up). */
typedef struct people_track people_track;
people_track *people_track_new(size_t max_bytes);
void people_track_free(people_track *t);
/* e, just written to silver. */
void people_track_add(people_track *t, const cp_silver_event *e);
void people_track_abandon(people_track *t);
bool people_track_active(const people_track *t);
/* Writes the identity map and the customers whole, with `upto` as the derived checkpoint,
 * then gives up; CP_EAGAIN when it had given up already. */
int people_track_finish(people_track *t, cp_store *s, int64_t upto);
/* Writes the open sessions and recomputes those of the identities set aside, then gives
 * up (later refreshes recompute what changes); CP_EAGAIN when it had given up already. */
int sess_track_finish(sess_track *t, cp_store *s);

#endif

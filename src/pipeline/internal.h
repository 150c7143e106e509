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
} silver_ctx;
/* The rates from the store (after cp_store_set_currency). */
int silver_rates_load(silver_ctx *s);
/* The order_ids from silver's committed orders (at open, after a rollback or a replay's
 * reset, after rows were deleted). */
int silver_orders_load(silver_ctx *s);
void silver_orders_free(silver_ctx *s);
void silver_rates_free(silver_ctx *s);
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

/* Sessions (sessions.c). */
int sessions_refresh(cp_store *s, int64_t timeout_ms, int64_t since);

#endif

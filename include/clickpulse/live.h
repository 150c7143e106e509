/* Real-time operators (DESIGN.md section 5): what the live dashboard shows,
 * kept in event time as enriched events reach silver.
 *
 * Events flagged late by the pipeline's watermark (older than the newest event
 * time minus the allowed lateness) are counted as late and change no window;
 * events inside the lateness update the minute and second they belong to, in
 * whatever order they come. State per minute (the last 25 hours): counts by
 * kind, page views, orders, revenue, a HyperLogLog of visitors, sessions that
 * started in it with their funnel progress and conversion, top pages, products
 * and external referrers (by host), and countries; per second (the last 15 minutes): counts by
 * kind. Sessions follow the rules of DESIGN.md section 5 per identity (a new one
 * after the inactivity timeout or 24 hours); the funnel counts a session at a
 * step when it has reached that step and every step before it (page view →
 * product view → cart → checkout → order). Bots count in events, not in
 * visitors, sessions, the funnel or conversion.
 *
 * The minutes are persisted to the store (rt_minute, rt_minute_top) in the
 * transaction that commits their events, and restored at start-up.
 * Thread-safe: one writer adds, any thread takes snapshots. */
#ifndef CLICKPULSE_LIVE_H
#define CLICKPULSE_LIVE_H

#include "clickpulse/event.h"
#include "clickpulse/store.h"
#include "clickpulse/str.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct cp_live cp_live;

typedef struct cp_live_event {
    cp_event_kind kind;
    int64_t time_ms;
    cp_slice identity; /* anonymousId, else userId */
    cp_slice page_url, page_path, referrer,
        country; /* referrers from page_url's host are internal */
    bool is_bot, late, has_revenue;
    cp_money revenue;           /* hundredths, in the reporting currency */
    int64_t rate_e8;            /* the order's rate to it × 10^8 (for its lines); 0: none */
    bool repeat_order;          /* an order_id silver already holds: counted as no order */
    const cp_product *products; /* product views: the product; orders: the lines */
    uint32_t n_products;
} cp_live_event;

/* The funnel's steps, in order. */
#define CP_LIVE_STEPS 5

/* max_bytes (pipeline.live_memory; 0: unbounded) bounds the minutes' keys and the live
 * sessions' table together: a key that finds no room is counted in its dimension's
 * "other", an identity that finds none is counted in every figure but sessions and the
 * funnel (cp_live_memory says how many such events) until sessions that ended are swept. */
cp_live *cp_live_new(int64_t session_timeout_ms, size_t max_bytes);
/* Beside max_bytes: the minutes' visitor sketches, 16 KB a minute at most, for the 25 hours
 * of the ring and as many minutes left it but not yet persisted. */
#define CP_LIVE_SKETCH_MEMORY ((size_t)2 * 1500 * 16384)
void cp_live_free(cp_live *l);
/* Forgets everything (before a replay rebuilds it). */
void cp_live_reset(cp_live *l);
void cp_live_add(cp_live *l, const cp_live_event *e);
/* Session state only, from an event another instance counted (a partition taken over is
 * re-read one session timeout back): later events continue its session; nothing is counted. */
void cp_live_warm(cp_live *l, const cp_live_event *e);

/* The snapshot the dashboard shows at now_ms, as JSON (see docs/live.md). */
int cp_live_snapshot(cp_live *l, int64_t now_ms, cp_buf *out);
/* Events counted so far (late ones included): the stream's position. */
uint64_t cp_live_counted(cp_live *l);

/* Writes the minutes changed since the last call into the store's open transaction. */
int cp_live_persist(cp_live *l, cp_store *s);
/* Loads the persisted minutes of the 25 hours up to the newest one stored. */
int cp_live_restore(cp_live *l, cp_store *s);

/* Figures over a range of minutes [from_minute, to_minute] (minute = ms / 60000), for
 * tests and the snapshot. Top lists hold at most CP_LIVE_TOP entries. */
#define CP_LIVE_TOP 10
typedef struct cp_live_top {
    char key[128];
    int64_t n, orders;
    cp_money revenue;
} cp_live_top;
typedef struct cp_live_window {
    int64_t events, pageviews, orders, sessions, converted, bots;
    int64_t kinds[CP_KIND__COUNT];
    int64_t funnel[CP_LIVE_STEPS];
    cp_money revenue;
    double visitors;
    cp_live_top pages[CP_LIVE_TOP], products[CP_LIVE_TOP], referrers[CP_LIVE_TOP],
        countries[CP_LIVE_TOP];
    uint32_t n_pages, n_products, n_referrers, n_countries;
} cp_live_window;
int cp_live_window_get(cp_live *l, int64_t from_minute, int64_t to_minute, cp_live_window *w);
/* Events per second for seconds [from_s, from_s + n) (s = ms / 1000), by kind when
 * kind >= 0, else all. */
void cp_live_seconds(cp_live *l, int64_t from_s, int n, int kind, int64_t *out);
/* Distinct visitors over minutes [from_minute, to_minute]. */
double cp_live_visitors(cp_live *l, int64_t from_minute, int64_t to_minute);
/* The bytes of max_bytes in use, and the events of identities not tracked for want of room. */
void cp_live_memory(cp_live *l, size_t *bytes, uint64_t *untracked);
/* Late events seen (not counted in any window). */
uint64_t cp_live_late(cp_live *l);

#endif

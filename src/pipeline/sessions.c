/* Sessions (DESIGN.md section 5), recomputed from silver events in event-time
 * order per identity — every identity, or those with events since the last
 * refresh, each from all its events: a new session after the inactivity timeout, after 24
 * hours, or when the client's own session id changes (a client id is
 * trusted). A session is a bot's when its user agent says so, or when it
 * behaves like one: many page views, a median of under 2.5 s between them,
 * and nothing but page views. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MAX_SESSION_MS (24 * CP_MS_PER_HOUR)
#define BOT_MIN_PAGES  15
#define BOT_MEDIAN_GAP 2500

enum { F_IDENTITY, F_USER, F_SID, F_LANDING, F_SRC, F_MED, F_CAMP, F_COUNTRY, F_DEVICE, F__COUNT };

typedef struct builder {
    cp_store *store;
    int64_t timeout_ms;
    int open;
    cp_buf f[F__COUNT]; /* owned copies of the session's text fields */
    int64_t start_ms, last_ms, last_page_ms;
    int64_t events, pageviews;
    bool ua_bot, product_view, cart, checkout, purchase, other_kinds;
    int64_t *gaps;
    size_t n_gaps, cap_gaps;
    int rc;
} builder;

static int set(cp_buf *b, cp_slice v)
{
    cp_buf_reset(b);
    return v.ptr ? cp_buf_append(b, v.ptr, v.len ? v.len : 0) : CP_OK;
}

static cp_slice get(const cp_buf *b)
{
    return b->ptr && b->len ? cp_buf_slice(b) : CP_SLICE_NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool behaves_like_bot(builder *b)
{
    if (b->pageviews < BOT_MIN_PAGES || b->other_kinds || b->n_gaps == 0) return false;
    qsort(b->gaps, b->n_gaps, sizeof(int64_t), cmp_i64);
    size_t n = b->n_gaps;
    if (n % 2) return b->gaps[n / 2] < BOT_MEDIAN_GAP;
    return b->gaps[n / 2 - 1] + b->gaps[n / 2] < 2 * BOT_MEDIAN_GAP; /* the middles' mean */
}

static int close_session(builder *b)
{
    if (!b->open) return CP_OK;
    char id[20];
    cp_slice sid = get(&b->f[F_SID]);
    if (!sid.len) {
        uint64_t h =
            XXH3_64bits_withSeed(b->f[F_IDENTITY].ptr, b->f[F_IDENTITY].len, (uint64_t)b->start_ms);
        id[0] = 's';
        id[1] = '_';
        for (int i = 0; i < 16; i++) id[2 + i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 15];
        sid = (cp_slice){id, 18};
    }
    cp_session_row r = {.session_id = sid,
                        .identity = get(&b->f[F_IDENTITY]),
                        .user_id = get(&b->f[F_USER]),
                        .utm_source = get(&b->f[F_SRC]),
                        .utm_medium = get(&b->f[F_MED]),
                        .utm_campaign = get(&b->f[F_CAMP]),
                        .country = get(&b->f[F_COUNTRY]),
                        .device_type = get(&b->f[F_DEVICE]),
                        .landing_path = get(&b->f[F_LANDING]),
                        .start_ms = b->start_ms,
                        .end_ms = b->last_ms,
                        .events = b->events,
                        .pageviews = b->pageviews,
                        .is_bot = b->ua_bot || behaves_like_bot(b),
                        .product_view = b->product_view,
                        .cart = b->cart,
                        .checkout = b->checkout,
                        .purchase = b->purchase};
    b->open = 0;
    return cp_store_add_session(b->store, &r);
}

static int open_session(builder *b, const cp_session_event *e)
{
    const cp_slice v[F__COUNT] = {e->identity,     e->user_id,    e->session_id,
                                  e->page_path,    e->utm_source, e->utm_medium,
                                  e->utm_campaign, e->country,    e->device_type};
    for (int i = 0; i < F__COUNT; i++)
        if (set(&b->f[i], v[i])) return CP_ENOMEM;
    b->open = 1;
    b->start_ms = b->last_ms = e->time_ms;
    b->last_page_ms = INT64_MIN;
    b->events = b->pageviews = 0;
    b->ua_bot = b->product_view = b->cart = b->checkout = b->purchase = b->other_kinds = false;
    b->n_gaps = 0;
    return CP_OK;
}

static bool starts_new(const builder *b, const cp_session_event *e)
{
    if (!b->open || !cp_slice_eq(e->identity, cp_buf_slice(&b->f[F_IDENTITY]))) return true;
    if (e->time_ms - b->last_ms > b->timeout_ms || e->time_ms - b->start_ms >= MAX_SESSION_MS)
        return true;
    /* another client id than the session's; a session without one adopts it (on_event) */
    return e->session_id.len && b->f[F_SID].len &&
           !cp_slice_eq(e->session_id, cp_buf_slice(&b->f[F_SID]));
}

static int push_gap(builder *b, int64_t gap)
{
    if (cp_grow((void **)&b->gaps, &b->cap_gaps, b->n_gaps + 1, sizeof(int64_t))) return CP_ENOMEM;
    b->gaps[b->n_gaps++] = gap;
    return CP_OK;
}

static int on_event(void *ud, const cp_session_event *e)
{
    builder *b = ud;
    int rc;
    if (starts_new(b, e) && ((rc = close_session(b)) || (rc = open_session(b, e)))) return rc;
    b->events++;
    b->last_ms = e->time_ms;
    b->ua_bot |= e->is_bot;
    if (e->user_id.len && (rc = set(&b->f[F_USER], e->user_id))) return rc;
    /* a session without a client id takes the first one it sees */
    if (e->session_id.len && !b->f[F_SID].len && (rc = set(&b->f[F_SID], e->session_id))) return rc;
    if (cp_slice_eq_lit(e->kind, "page")) {
        b->pageviews++;
        if (b->last_page_ms != INT64_MIN && (rc = push_gap(b, e->time_ms - b->last_page_ms)))
            return rc;
        b->last_page_ms = e->time_ms;
    } else if (cp_slice_eq_lit(e->kind, "product_viewed")) {
        b->product_view = true;
    } else if (cp_slice_eq_lit(e->kind, "product_added")) {
        b->cart = true;
    } else if (cp_slice_eq_lit(e->kind, "checkout_started")) {
        b->checkout = true;
    } else if (cp_slice_eq_lit(e->kind, "order_completed")) {
        b->purchase = true;
    }
    if (!cp_slice_eq_lit(e->kind, "page")) b->other_kinds = true;
    return CP_OK;
}

int sessions_refresh(cp_store *s, int64_t timeout_ms, int64_t since)
{
    builder b = {.store = s, .timeout_ms = timeout_ms};
    for (int i = 0; i < F__COUNT; i++) cp_buf_init(&b.f[i]);
    int rc = cp_store_sessions_begin(s, since);
    if (rc == CP_OK) {
        rc = cp_store_scan_for_sessions(s, since, on_event, &b);
        if (rc == CP_OK) rc = close_session(&b);
        int end = cp_store_sessions_end(s, rc == CP_OK);
        if (rc == CP_OK) rc = end;
    }
    for (int i = 0; i < F__COUNT; i++) cp_buf_free(&b.f[i]);
    cp_free(b.gaps);
    return rc;
}

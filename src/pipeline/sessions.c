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
#define NONE           UINT32_MAX /* a field's length when it is NULL */

enum { F_IDENTITY, F_USER, F_SID, F_LANDING, F_SRC, F_MED, F_CAMP, F_COUNTRY, F_DEVICE };

/* Field i's text, or CP_SLICE_NULL. */
static cp_slice get(const sess_state *b, int i)
{
    return b->len[i] == NONE || !b->len[i] ? CP_SLICE_NULL
                                           : (cp_slice){b->text.ptr + b->off[i], b->len[i]};
}

/* Sets field i (NULL when v.ptr is NULL): the fields are copied into a new text. */
static int set(sess_state *b, int i, cp_slice v)
{
    cp_buf t;
    cp_buf_init(&t);
    uint32_t off[SESS_FIELDS], len[SESS_FIELDS];
    for (int k = 0; k < SESS_FIELDS; k++) {
        cp_slice f = k == i ? v : b->len[k] == NONE ? CP_SLICE_NULL : get(b, k);
        off[k] = (uint32_t)t.len;
        len[k] = f.ptr ? (uint32_t)f.len : NONE;
        if (f.len && cp_buf_append(&t, f.ptr, f.len)) {
            cp_buf_free(&t);
            return CP_ENOMEM;
        }
    }
    cp_buf_free(&b->text);
    b->text = t;
    memcpy(b->off, off, sizeof(off));
    memcpy(b->len, len, sizeof(len));
    return CP_OK;
}

void sess_state_free(sess_state *b)
{
    cp_buf_free(&b->text);
    cp_free(b->gaps);
    memset(b, 0, sizeof(*b));
}

size_t sess_state_bytes(const sess_state *b)
{
    return b->text.cap + b->cap_gaps * sizeof(int64_t);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool behaves_like_bot(sess_state *b)
{
    if (b->pageviews < BOT_MIN_PAGES || b->other_kinds || b->n_gaps == 0) return false;
    qsort(b->gaps, b->n_gaps, sizeof(int64_t), cmp_i64);
    size_t n = b->n_gaps;
    if (n % 2) return b->gaps[n / 2] < BOT_MEDIAN_GAP;
    return b->gaps[n / 2 - 1] + b->gaps[n / 2] < 2 * BOT_MEDIAN_GAP; /* the middles' mean */
}

int sess_close(sess_state *b, int (*emit)(void *ud, const cp_session_row *r), void *ud)
{
    if (!b->open) return CP_OK;
    char id[20];
    cp_slice sid = get(b, F_SID), who = get(b, F_IDENTITY);
    if (!sid.len) {
        uint64_t h = XXH3_64bits_withSeed(who.ptr, who.len, (uint64_t)b->start_ms);
        id[0] = 's';
        id[1] = '_';
        for (int i = 0; i < 16; i++) id[2 + i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 15];
        sid = (cp_slice){id, 18};
    }
    cp_session_row r = {.session_id = sid,
                        .identity = who,
                        .user_id = get(b, F_USER),
                        .utm_source = get(b, F_SRC),
                        .utm_medium = get(b, F_MED),
                        .utm_campaign = get(b, F_CAMP),
                        .country = get(b, F_COUNTRY),
                        .device_type = get(b, F_DEVICE),
                        .landing_path = get(b, F_LANDING),
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
    return emit(ud, &r);
}

static int open_session(sess_state *b, const cp_session_event *e)
{
    const cp_slice v[SESS_FIELDS] = {e->identity,     e->user_id,    e->session_id,
                                     e->page_path,    e->utm_source, e->utm_medium,
                                     e->utm_campaign, e->country,    e->device_type};
    cp_buf t;
    cp_buf_init(&t);
    for (int i = 0; i < SESS_FIELDS; i++) {
        b->off[i] = (uint32_t)t.len;
        b->len[i] = v[i].ptr ? (uint32_t)v[i].len : NONE;
        if (v[i].len && cp_buf_append(&t, v[i].ptr, v[i].len)) {
            cp_buf_free(&t);
            return CP_ENOMEM;
        }
    }
    cp_buf_free(&b->text);
    b->text = t;
    b->open = 1;
    b->start_ms = b->last_ms = e->time_ms;
    b->last_page_ms = INT64_MIN;
    b->events = b->pageviews = 0;
    b->ua_bot = b->product_view = b->cart = b->checkout = b->purchase = b->other_kinds = false;
    b->n_gaps = 0;
    return CP_OK;
}

/* Whether e (of the session's identity) starts a new session. */
static bool starts_new(const sess_state *b, int64_t timeout_ms, const cp_session_event *e)
{
    if (!b->open) return true;
    if (e->time_ms - b->last_ms > timeout_ms || e->time_ms - b->start_ms >= MAX_SESSION_MS)
        return true;
    /* another client id than the session's; a session without one adopts it (sess_add) */
    cp_slice sid = get(b, F_SID);
    return e->session_id.len && sid.len && !cp_slice_eq(e->session_id, sid);
}

static int push_gap(sess_state *b, int64_t gap)
{
    if (cp_grow((void **)&b->gaps, &b->cap_gaps, b->n_gaps + 1, sizeof(int64_t))) return CP_ENOMEM;
    b->gaps[b->n_gaps++] = gap;
    return CP_OK;
}

int sess_add(sess_state *b, int64_t timeout_ms, const cp_session_event *e,
             int (*emit)(void *ud, const cp_session_row *r), void *ud)
{
    int rc;
    if (starts_new(b, timeout_ms, e) &&
        ((rc = sess_close(b, emit, ud)) || (rc = open_session(b, e))))
        return rc;
    b->events++;
    b->last_ms = e->time_ms;
    b->ua_bot |= e->is_bot;
    if (e->user_id.len && !cp_slice_eq(e->user_id, get(b, F_USER)) &&
        (rc = set(b, F_USER, e->user_id)))
        return rc;
    /* a session without a client id takes the first one it sees */
    if (e->session_id.len && !get(b, F_SID).len && (rc = set(b, F_SID, e->session_id))) return rc;
    if (cp_slice_eq_lit(e->kind, "page")) {
        b->pageviews++;
        /* the gaps matter to the bot rule only while the session has nothing but pages */
        if (!b->other_kinds && b->last_page_ms != INT64_MIN &&
            (rc = push_gap(b, e->time_ms - b->last_page_ms)))
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
    if (!cp_slice_eq_lit(e->kind, "page") && !b->other_kinds) {
        b->other_kinds = true;
        cp_free(b->gaps); /* no longer needed */
        b->gaps = NULL;
        b->n_gaps = b->cap_gaps = 0;
    }
    return CP_OK;
}

typedef struct builder {
    cp_store *store;
    int64_t timeout_ms;
    sess_state st;
} builder;

static int add_row(void *ud, const cp_session_row *r)
{
    return cp_store_add_session(ud, r);
}

static int on_event(void *ud, const cp_session_event *e)
{
    builder *b = ud;
    /* another identity: its sessions start afresh */
    if (b->st.open && !cp_slice_eq(e->identity, get(&b->st, F_IDENTITY))) {
        int rc = sess_close(&b->st, add_row, b->store);
        if (rc) return rc;
    }
    return sess_add(&b->st, b->timeout_ms, e, add_row, b->store);
}

int sessions_refresh(cp_store *s, int64_t timeout_ms, int64_t since)
{
    builder b = {.store = s, .timeout_ms = timeout_ms};
    int rc = cp_store_sessions_begin(s, since);
    if (rc == CP_OK) {
        rc = cp_store_scan_for_sessions(s, since, on_event, &b);
        if (rc == CP_OK) rc = sess_close(&b.st, add_row, s);
        int end = cp_store_sessions_end(s, rc == CP_OK);
        if (rc == CP_OK) rc = end;
    }
    sess_state_free(&b.st);
    return rc;
}

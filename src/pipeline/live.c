/* Real-time operators (see include/clickpulse/live.h): a ring of minutes and a
 * ring of seconds in event time, live sessions per identity, and the snapshot. */
#include "clickpulse/live.h"

#include "clickpulse/counter.h"
#include "clickpulse/error.h"
#include "clickpulse/hll.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#define MINUTES    1500        /* 25 hours */
#define SECONDS    900         /* 15 minutes */
#define KEYS_LIMIT 4096        /* keys tracked per minute and dimension */
#define TRIM_KEEP  CP_LIVE_TOP /* keys an old minute keeps when the budget needs room */
#define MINUTE_MS  60000LL
_Static_assert(CP_LIVE_SKETCH_MEMORY == (size_t)2 * MINUTES * CP_HLL_REGISTERS,
               "the sketches' memory as live.h says it");
#define DAY_MS      86400000LL
#define SWEEP_EVERY 65536

enum { DIM_PAGE, DIM_PRODUCT, DIM_REFERRER, DIM_COUNTRY, DIM__COUNT };
static const char *const dim_names[DIM__COUNT] = {"page", "product", "referrer", "country"};

typedef struct minute {
    int64_t minute; /* minute number (ms / 60000); EMPTY when unused */
    int64_t events, pageviews, orders, sessions, converted, bots;
    int64_t kinds[CP_KIND__COUNT];
    int64_t funnel[CP_LIVE_STEPS];
    cp_money revenue;
    cp_hll visitors;
    cp_counter dims[DIM__COUNT];
    bool dirty;
} minute;

typedef struct second {
    int64_t second;
    int64_t kinds[CP_KIND__COUNT];
} second;

typedef struct session {
    uint64_t id; /* identity hash, never 0; 0 = free slot */
    int64_t start, last, start_minute;
    uint8_t mask; /* funnel steps reached (bit per step) */
} session;

struct cp_live {
    pthread_mutex_t mu;
    int64_t timeout_ms;
    cp_budget budget; /* the minutes' keys and the sessions' table (pipeline.live_memory) */
    minute minutes[MINUTES];
    second seconds[SECONDS];
    minute *retired; /* dirty minutes pushed out of the ring before they were persisted */
    size_t n_retired, cap_retired;
    session *sessions;
    uint32_t s_mask, s_count;
    int64_t max_time;
    int64_t stored_max; /* the newest minute rt_minute may hold; EMPTY: none */
    uint64_t counted, late, since_sweep;
    uint64_t untracked; /* events of identities the sessions' table had no room for */
    int64_t swept_at;   /* max_time at the last sweep of ended sessions */
    int64_t trimmed;    /* minutes up to this one hold at most TRIM_KEEP keys a dimension */
};

static const int64_t EMPTY = INT64_MIN;

static void minute_init(minute *m, cp_budget *budget)
{
    memset(m, 0, sizeof(*m));
    m->minute = EMPTY;
    for (int d = 0; d < DIM__COUNT; d++) cp_counter_init(&m->dims[d], KEYS_LIMIT, budget);
}

static void minute_free(minute *m)
{
    cp_hll_free(&m->visitors);
    for (int d = 0; d < DIM__COUNT; d++) cp_counter_free(&m->dims[d]);
    minute_init(m, m->dims[0].budget);
}

static size_t sessions_cost(uint32_t slots)
{
    return slots ? cp_alloc_cost((size_t)slots * sizeof(session)) : 0;
}

static void reset_locked(cp_live *l)
{
    for (int i = 0; i < MINUTES; i++) minute_free(&l->minutes[i]);
    for (size_t i = 0; i < l->n_retired; i++) minute_free(&l->retired[i]);
    cp_free(l->retired);
    l->retired = NULL;
    l->n_retired = l->cap_retired = 0;
    for (int i = 0; i < SECONDS; i++) l->seconds[i] = (second){.second = EMPTY};
    cp_budget_give(&l->budget, sessions_cost(l->sessions ? l->s_mask + 1 : 0));
    cp_free(l->sessions);
    l->sessions = NULL;
    l->s_mask = l->s_count = 0;
    l->max_time = l->stored_max = EMPTY;
    l->counted = l->late = l->since_sweep = l->untracked = 0;
    l->swept_at = EMPTY;
    l->trimmed = EMPTY;
}

cp_live *cp_live_new(int64_t session_timeout_ms, size_t max_bytes)
{
    cp_live *l = cp_calloc(1, sizeof(*l));
    if (!l) return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->timeout_ms = session_timeout_ms;
    l->budget.max = max_bytes;
    for (int i = 0; i < MINUTES; i++) minute_init(&l->minutes[i], &l->budget);
    reset_locked(l);
    return l;
}

void cp_live_free(cp_live *l)
{
    if (!l) return;
    reset_locked(l);
    pthread_mutex_destroy(&l->mu);
    cp_free(l);
}

void cp_live_reset(cp_live *l)
{
    pthread_mutex_lock(&l->mu);
    reset_locked(l);
    pthread_mutex_unlock(&l->mu);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static size_t ring_at(int64_t n, int64_t size)
{
    int64_t r = n % size;
    return (size_t)(r < 0 ? r + size : r);
}

/* The ring's slot for minute m, or NULL when a newer minute holds it. */
static minute *minute_for(cp_live *l, int64_t m)
{
    minute *s = &l->minutes[ring_at(m, MINUTES)];
    if (s->minute == m) return s;
    if (s->minute != EMPTY && s->minute > m) return NULL;
    if (s->dirty) { /* keep it for the next persist */
        if (cp_grow((void **)&l->retired, &l->cap_retired, l->n_retired + 1, sizeof(minute)))
            return NULL;
        l->retired[l->n_retired++] = *s;
        minute_init(s, &l->budget);
    } else {
        minute_free(s);
    }
    s->minute = m;
    return s;
}

/* Minute m when the ring holds it (no slot is taken). */
static const minute *minute_get(const cp_live *l, int64_t m)
{
    const minute *s = &l->minutes[ring_at(m, MINUTES)];
    return s->minute == m ? s : NULL;
}

/* ---- live sessions ---- */

static session *session_slot(cp_live *l, uint64_t id)
{
    uint32_t i = (uint32_t)id & l->s_mask;
    while (l->sessions[i].id && l->sessions[i].id != id) i = (i + 1) & l->s_mask;
    return &l->sessions[i];
}

/* Rebuilds the table at the given size, keeping sessions active after horizon; CP_EFULL
 * when the budget has no room for it beside the old one. */
static int sessions_rebuild(cp_live *l, uint32_t slots, int64_t horizon)
{
    session *old = l->sessions;
    uint32_t old_slots = old ? l->s_mask + 1 : 0;
    if (!cp_budget_take(&l->budget, sessions_cost(slots))) return CP_EFULL;
    session *t = cp_calloc(slots, sizeof(*t));
    if (!t) {
        cp_budget_give(&l->budget, sessions_cost(slots));
        return CP_ENOMEM;
    }
    l->sessions = t;
    l->s_mask = slots - 1;
    l->s_count = 0;
    for (uint32_t i = 0; i < old_slots; i++)
        if (old[i].id && old[i].last >= horizon) {
            *session_slot(l, old[i].id) = old[i];
            l->s_count++;
        }
    cp_budget_give(&l->budget, sessions_cost(old_slots));
    cp_free(old);
    return CP_OK;
}

static int step_of(cp_event_kind k)
{
    switch (k) {
    case CP_KIND_PAGE:
    case CP_KIND_SCREEN:
        return 0;
    case CP_KIND_PRODUCT_VIEWED:
        return 1;
    case CP_KIND_PRODUCT_ADDED:
        return 2;
    case CP_KIND_CHECKOUT_STARTED:
        return 3;
    case CP_KIND_ORDER_COMPLETED:
        return 4;
    default:
        return -1;
    }
}

static int depth(uint8_t mask)
{
    int d = 0;
    while (d < CP_LIVE_STEPS && (mask >> d & 1)) d++;
    return d;
}

/* Moves a session to a new step mask, crediting the minute it started in. */
static void advance(cp_live *l, session *s, uint8_t mask)
{
    minute *m = minute_for(l, s->start_minute);
    int from = depth(s->mask), to = depth(mask);
    if (m) {
        for (int i = from; i < to; i++) m->funnel[i]++;
        if ((mask & ~s->mask) >> 4 & 1) m->converted++;
        m->dirty = true;
    }
    s->mask = mask;
}

/* Makes room in the budget: the oldest minute before `before` with more than TRIM_KEEP keys
 * in a dimension keeps its TRIM_KEEP first there, the rest counted as other (the minutes a
 * dashboard looks at are the recent ones). Returns whether a minute was trimmed. */
static bool trim_oldest(cp_live *l, int64_t before)
{
    minute *oldest = NULL;
    if (l->trimmed != EMPTY && l->trimmed >= before - 1) return false;
    for (int i = 0; i < MINUTES; i++) {
        minute *m = &l->minutes[i];
        if (m->minute == EMPTY || m->minute >= before || (oldest && m->minute > oldest->minute) ||
            (l->trimmed != EMPTY && m->minute <= l->trimmed))
            continue;
        for (int d = 0; d < DIM__COUNT; d++)
            if (m->dims[d].count > TRIM_KEEP) oldest = m;
    }
    if (!oldest) { /* every minute before is trimmed already */
        if (l->trimmed == EMPTY || before - 1 > l->trimmed) l->trimmed = before - 1;
        return false;
    }
    for (int d = 0; d < DIM__COUNT; d++)
        if (cp_counter_trim(&oldest->dims[d], TRIM_KEEP)) return false;
    l->trimmed = oldest->minute;
    return true;
}

/* Drops the sessions that ended (in place when the budget has no room for a second
 * table: a sweep must not fail for want of the memory it would free). */
static void sweep(cp_live *l)
{
    if (l->max_time == EMPTY) return; /* warming up: no event time yet to judge by */
    int64_t horizon = l->max_time - l->timeout_ms - MINUTE_MS;
    l->swept_at = l->max_time;
    if (sessions_rebuild(l, l->s_mask + 1, horizon) == CP_OK) return;
    uint32_t slots = l->s_mask + 1, kept = 0;
    for (uint32_t i = 0; i < slots; i++)
        kept += l->sessions[i].id && l->sessions[i].last >= horizon;
    if (kept == l->s_count) return;
    session *live = cp_malloc((size_t)kept * sizeof(*live) + 1), *o = live;
    if (!live) return;
    for (uint32_t i = 0; i < slots; i++)
        if (l->sessions[i].id && l->sessions[i].last >= horizon) *o++ = l->sessions[i];
    memset(l->sessions, 0, (size_t)slots * sizeof(session));
    l->s_count = 0;
    for (uint32_t i = 0; i < kept; i++) {
        *session_slot(l, live[i].id) = live[i];
        l->s_count++;
    }
    cp_free(live);
}

/* Room for one more identity in the sessions' table: the ended sessions swept first when
 * they were not for a minute, else a table twice the size — old minutes' keys trimmed for
 * it when the budget has no room. CP_EFULL when none can be made. */
static int make_room(cp_live *l)
{
    if (l->sessions && l->max_time != EMPTY &&
        (l->swept_at == EMPTY || l->max_time - l->swept_at >= MINUTE_MS)) {
        sweep(l);
        if ((l->s_count + 1) * 2 <= l->s_mask + 1) return CP_OK;
    }
    uint32_t slots = l->sessions ? (l->s_mask + 1) * 2 : 1024;
    int rc = sessions_rebuild(l, slots, INT64_MIN);
    while (rc == CP_EFULL && trim_oldest(l, floor_div(l->max_time, MINUTE_MS)))
        rc = sessions_rebuild(l, slots, INT64_MIN); /* old minutes' keys gave room */
    return rc;
}

/* quiet: only the session's state changes (warming up from events counted elsewhere). */
static void track_session(cp_live *l, uint64_t id, int64_t t, int step, bool quiet)
{
    session *s = l->sessions ? session_slot(l, id) : NULL;
    if (!s || (!s->id && (l->s_count + 1) * 2 > l->s_mask + 1)) { /* a new identity, no room */
        if (make_room(l)) {
            l->untracked++;
            return;
        }
        s = session_slot(l, id);
    }
    session far = {0};
    bool fresh = !s->id || t - s->last > l->timeout_ms || t - s->start >= DAY_MS;
    if (s->id && t < s->start - l->timeout_ms) { /* from a session before the one tracked */
        s = &far;
        fresh = true;
    }
    if (fresh) {
        if (!s->id && s != &far) l->s_count++;
        *s = (session){.id = id, .start = t, .last = t, .start_minute = floor_div(t, MINUTE_MS)};
        minute *m = quiet ? NULL : minute_for(l, s->start_minute);
        if (m) m->sessions++;
    }
    if (t > s->last) s->last = t;
    if (step < 0 || s->mask >> step & 1) return;
    if (quiet)
        s->mask |= (uint8_t)(1u << step);
    else
        advance(l, s, (uint8_t)(s->mask | 1u << step));
}

/* ---- adding events ---- */

/* Counts a key in minute m's dimension d, trimming old minutes when the budget is spent. */
static void count_key(cp_live *l, minute *m, int d, cp_slice key, int64_t n, int64_t orders,
                      int64_t revenue)
{
    cp_counter *c = &m->dims[d];
    while (cp_counter_add(c, key, n, orders, revenue) == CP_EFULL && trim_oldest(l, m->minute)) {
        c->other.n -= n; /* it went to other: room was made, count it as itself */
        c->other.orders -= orders;
        c->other.revenue -= revenue;
    }
    if (l->trimmed != EMPTY && m->minute <= l->trimmed && c->count > TRIM_KEEP)
        l->trimmed = m->minute - 1; /* a minute thought trimmed has keys again (late, restored) */
}

static cp_slice or_lit(cp_slice v, const char *lit)
{
    return v.len ? v : cp_slice_from(lit);
}

/* "https://www.google.com/search?q=x" → "www.google.com". */
static cp_slice url_host(cp_slice u)
{
    if (!u.len) return u;
    const char *p = u.ptr, *end = u.ptr + u.len;
    const char *s = memchr(p, ':', u.len);
    if (s && s + 2 < end && s[1] == '/' && s[2] == '/') p = s + 3;
    const char *q = p;
    while (q < end && *q != '/' && *q != '?' && *q != '#') q++;
    return (cp_slice){p, (size_t)(q - p)};
}

static cp_slice product_key(const cp_product *p)
{
    return p->name.len ? p->name : p->product_id.len ? p->product_id : or_lit(p->sku, "(unknown)");
}

static void add_locked(cp_live *l, const cp_live_event *e)
{
    l->counted++;
    int64_t mn = floor_div(e->time_ms, MINUTE_MS);
    minute *m = e->late ? NULL : minute_for(l, mn);
    if (!m) {
        l->late++;
        return;
    }
    if (l->max_time == EMPTY || e->time_ms > l->max_time) l->max_time = e->time_ms;
    int64_t sn = floor_div(e->time_ms, 1000);
    second *sec = &l->seconds[ring_at(sn, SECONDS)];
    if (sec->second == EMPTY || sec->second < sn) *sec = (second){.second = sn};
    if (sec->second == sn) sec->kinds[e->kind]++;

    m->dirty = true;
    m->events++;
    m->kinds[e->kind]++;
    if (e->is_bot) {
        m->bots++;
        return;
    }
    bool order = e->kind == CP_KIND_ORDER_COMPLETED && !e->repeat_order;
    cp_money revenue = order && e->has_revenue ? e->revenue : 0;
    if (e->kind == CP_KIND_PAGE) {
        m->pageviews++;
        count_key(l, m, DIM_PAGE, or_lit(e->page_path, "/"), 1, 0, 0);
        cp_slice from = e->referrer.len ? url_host(e->referrer) : CP_SLICE_NULL;
        if (from.len && !cp_slice_eq(from, url_host(e->page_url)))
            count_key(l, m, DIM_REFERRER, from, 1, 0, 0);
    }
    if (order) {
        m->orders++;
        m->revenue += revenue;
        for (uint32_t i = 0; i < e->n_products; i++) {
            const cp_product *p = &e->products[i];
            count_key(l, m, DIM_PRODUCT, product_key(p), 0, p->quantity,
                      p->has_price && e->rate_e8
                          ? cp_money_convert(p->price * p->quantity, e->rate_e8)
                          : 0);
        }
    } else if (e->kind == CP_KIND_PRODUCT_VIEWED && e->n_products) {
        count_key(l, m, DIM_PRODUCT, product_key(&e->products[0]), 1, 0, 0);
    }
    count_key(l, m, DIM_COUNTRY, or_lit(e->country, "unknown"), 1, order, revenue);
    if (++l->since_sweep >= SWEEP_EVERY && l->sessions) {
        l->since_sweep = 0;
        sweep(l);
    }
    if (e->identity.len) {
        uint64_t h = XXH3_64bits(e->identity.ptr, e->identity.len);
        if (cp_hll_add(&m->visitors, h)) return;
        track_session(l, h | 1, e->time_ms, step_of(e->kind), false);
    }
}

void cp_live_add(cp_live *l, const cp_live_event *e)
{
    pthread_mutex_lock(&l->mu);
    add_locked(l, e);
    pthread_mutex_unlock(&l->mu);
}

void cp_live_warm(cp_live *l, const cp_live_event *e)
{
    if (e->late || e->is_bot || !e->identity.len) return;
    pthread_mutex_lock(&l->mu);
    uint64_t h = XXH3_64bits(e->identity.ptr, e->identity.len);
    track_session(l, h | 1, e->time_ms, step_of(e->kind), true);
    pthread_mutex_unlock(&l->mu);
}

uint64_t cp_live_counted(cp_live *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t n = l->counted;
    pthread_mutex_unlock(&l->mu);
    return n;
}

void cp_live_memory(cp_live *l, size_t *bytes, uint64_t *untracked)
{
    pthread_mutex_lock(&l->mu);
    *bytes = l->budget.used;
    *untracked = l->untracked;
    pthread_mutex_unlock(&l->mu);
}

uint64_t cp_live_late(cp_live *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t n = l->late;
    pthread_mutex_unlock(&l->mu);
    return n;
}

/* ---- reading ---- */

static void copy_top(const cp_counter *c, cp_live_top *out, uint32_t *n)
{
    const cp_counter_entry *top[CP_LIVE_TOP];
    *n = cp_counter_top(c, CP_LIVE_TOP, top);
    for (uint32_t i = 0; i < *n; i++) {
        snprintf(out[i].key, sizeof(out[i].key), "%s", top[i]->key);
        out[i].n = top[i]->n;
        out[i].orders = top[i]->orders;
        out[i].revenue = top[i]->revenue;
    }
}

static int window_locked(cp_live *l, int64_t from, int64_t to, cp_live_window *w)
{
    memset(w, 0, sizeof(*w));
    cp_counter dims[DIM__COUNT];
    for (int d = 0; d < DIM__COUNT; d++) cp_counter_init(&dims[d], 1u << 20, NULL);
    cp_hll v = {0};
    int rc = CP_OK;
    for (int i = 0; i < MINUTES && rc == CP_OK; i++) {
        const minute *m = &l->minutes[i];
        if (m->minute == EMPTY || m->minute < from || m->minute > to) continue;
        w->events += m->events;
        w->pageviews += m->pageviews;
        w->orders += m->orders;
        w->sessions += m->sessions;
        w->converted += m->converted;
        w->bots += m->bots;
        w->revenue += m->revenue;
        for (int k = 0; k < CP_KIND__COUNT; k++) w->kinds[k] += m->kinds[k];
        for (int k = 0; k < CP_LIVE_STEPS; k++) w->funnel[k] += m->funnel[k];
        rc = cp_hll_merge(&v, &m->visitors);
        for (int d = 0; d < DIM__COUNT && rc == CP_OK; d++)
            rc = cp_counter_merge(&dims[d], &m->dims[d]);
    }
    if (rc == CP_OK) {
        w->visitors = round(cp_hll_count(&v));
        copy_top(&dims[DIM_PAGE], w->pages, &w->n_pages);
        copy_top(&dims[DIM_PRODUCT], w->products, &w->n_products);
        copy_top(&dims[DIM_REFERRER], w->referrers, &w->n_referrers);
        copy_top(&dims[DIM_COUNTRY], w->countries, &w->n_countries);
    }
    for (int d = 0; d < DIM__COUNT; d++) cp_counter_free(&dims[d]);
    cp_hll_free(&v);
    return rc;
}

int cp_live_window_get(cp_live *l, int64_t from_minute, int64_t to_minute, cp_live_window *w)
{
    pthread_mutex_lock(&l->mu);
    int rc = window_locked(l, from_minute, to_minute, w);
    pthread_mutex_unlock(&l->mu);
    return rc;
}

static double visitors_locked(cp_live *l, int64_t from, int64_t to)
{
    cp_hll v = {0};
    int rc = CP_OK;
    for (int64_t mn = from; mn <= to && rc == CP_OK; mn++) {
        const minute *m = minute_get(l, mn);
        if (m) rc = cp_hll_merge(&v, &m->visitors);
    }
    double n = round(cp_hll_count(&v)); /* short of memory: what was merged */
    cp_hll_free(&v);
    return n;
}

double cp_live_visitors(cp_live *l, int64_t from_minute, int64_t to_minute)
{
    pthread_mutex_lock(&l->mu);
    double n = visitors_locked(l, from_minute, to_minute);
    pthread_mutex_unlock(&l->mu);
    return n;
}

static void seconds_locked(cp_live *l, int64_t from_s, int n, int kind, int64_t *out)
{
    for (int i = 0; i < n; i++) {
        const second *s = &l->seconds[ring_at(from_s + i, SECONDS)];
        out[i] = 0;
        if (s->second != from_s + i) continue;
        for (int k = 0; k < CP_KIND__COUNT; k++)
            if (kind < 0 || kind == k) out[i] += s->kinds[k];
    }
}

void cp_live_seconds(cp_live *l, int64_t from_s, int n, int kind, int64_t *out)
{
    pthread_mutex_lock(&l->mu);
    seconds_locked(l, from_s, n, kind, out);
    pthread_mutex_unlock(&l->mu);
}

/* ---- the snapshot ---- */

static void json_top(cp_buf *b, const char *name, const cp_live_top *t, uint32_t n, int shape)
{
    cp_buf_appendf(b, ",\"%s\":[", name);
    for (uint32_t i = 0; i < n; i++) {
        cp_buf_append_str(b, i ? ",{\"key\":" : "{\"key\":");
        cp_buf_append_json_str(b, t[i].key, strlen(t[i].key));
        char rev[CP_MONEY_TEXT];
        cp_money_format(t[i].revenue, rev);
        if (shape == DIM_PRODUCT)
            cp_buf_appendf(b, ",\"views\":%lld,\"units\":%lld,\"revenue\":%s}", (long long)t[i].n,
                           (long long)t[i].orders, rev);
        else if (shape == DIM_COUNTRY)
            cp_buf_appendf(b, ",\"events\":%lld,\"orders\":%lld,\"revenue\":%s}", (long long)t[i].n,
                           (long long)t[i].orders, rev);
        else
            cp_buf_appendf(b, ",\"n\":%lld}", (long long)t[i].n);
    }
    cp_buf_append_char(b, ']');
}

static void json_window(cp_buf *b, const char *name, const cp_live_window *w)
{
    char rev[CP_MONEY_TEXT], aov[CP_MONEY_TEXT];
    cp_money_format(w->revenue, rev);
    cp_money_format(w->orders ? cp_money_div(w->revenue, w->orders) : 0, aov);
    cp_buf_appendf(
        b,
        ",\"%s\":{\"events\":%lld,\"pageviews\":%lld,\"visitors\":%.0f,\"sessions\":%lld,"
        "\"orders\":%lld,\"revenue\":%s,\"aov\":%s,\"conversion\":%.4f,\"bots\":%lld",
        name, (long long)w->events, (long long)w->pageviews, w->visitors, (long long)w->sessions,
        (long long)w->orders, rev, aov,
        w->sessions ? (double)w->converted / (double)w->sessions : 0.0, (long long)w->bots);
    cp_buf_append_str(b, ",\"kinds\":{");
    for (int k = 0; k < CP_KIND__COUNT; k++)
        cp_buf_appendf(b, "%s\"%s\":%lld", k ? "," : "", cp_event_kind_name((cp_event_kind)k),
                       (long long)w->kinds[k]);
    cp_buf_append_str(b, "},\"funnel\":[");
    for (int k = 0; k < CP_LIVE_STEPS; k++)
        cp_buf_appendf(b, "%s%lld", k ? "," : "", (long long)w->funnel[k]);
    cp_buf_append_char(b, ']');
    json_top(b, "top_pages", w->pages, w->n_pages, DIM_PAGE);
    json_top(b, "top_products", w->products, w->n_products, DIM_PRODUCT);
    json_top(b, "top_referrers", w->referrers, w->n_referrers, DIM_REFERRER);
    json_top(b, "countries", w->countries, w->n_countries, DIM_COUNTRY);
    cp_buf_append_char(b, '}');
}

static void json_series(cp_buf *b, const char *name, const int64_t *v, int n)
{
    cp_buf_appendf(b, ",\"%s\":[", name);
    for (int i = 0; i < n; i++) cp_buf_appendf(b, "%s%lld", i ? "," : "", (long long)v[i]);
    cp_buf_append_char(b, ']');
}

int cp_live_snapshot(cp_live *l, int64_t now_ms, cp_buf *b)
{
    enum { PER_MINUTE = 60 };
    cp_live_window w;
    int64_t now_min = floor_div(now_ms, MINUTE_MS), now_s = floor_div(now_ms, 1000);
    int64_t sec[SECONDS], ev[PER_MINUTE], pv[PER_MINUTE], orders[PER_MINUTE], visitors[PER_MINUTE];
    cp_money revenue[PER_MINUTE];
    pthread_mutex_lock(&l->mu);
    cp_buf_appendf(b, "{\"now\":%lld,\"max_event_time\":%lld,\"counted\":%llu,\"late\":%llu",
                   (long long)now_ms, (long long)(l->max_time == EMPTY ? 0 : l->max_time),
                   (unsigned long long)l->counted, (unsigned long long)l->late);
    cp_buf_appendf(b, ",\"active_users\":%.0f", visitors_locked(l, now_min - 4, now_min));
    seconds_locked(l, now_s - SECONDS + 1, SECONDS, -1, sec);
    cp_buf_appendf(b, ",\"per_second\":{\"start\":%lld", (long long)(now_s - SECONDS + 1) * 1000);
    json_series(b, "events", sec, SECONDS);
    /* by kind, for the last minute of seconds: the kinds seen in it */
    cp_buf_append_str(b, ",\"kinds\":{");
    int first = 1;
    for (int k = 0; k < CP_KIND__COUNT; k++) {
        int64_t v[PER_MINUTE], any = 0;
        seconds_locked(l, now_s - PER_MINUTE + 1, PER_MINUTE, k, v);
        for (int i = 0; i < PER_MINUTE; i++) any |= v[i];
        if (!any) continue;
        cp_buf_appendf(b, "%s\"%s\":[", first ? "" : ",", cp_event_kind_name((cp_event_kind)k));
        for (int i = 0; i < PER_MINUTE; i++)
            cp_buf_appendf(b, "%s%lld", i ? "," : "", (long long)v[i]);
        cp_buf_append_char(b, ']');
        first = 0;
    }
    cp_buf_append_str(b, "}}");
    for (int i = 0; i < PER_MINUTE; i++) {
        int64_t mn = now_min - PER_MINUTE + 1 + i;
        const minute *m = minute_get(l, mn);
        ev[i] = m ? m->events : 0;
        pv[i] = m ? m->pageviews : 0;
        orders[i] = m ? m->orders : 0;
        revenue[i] = m ? m->revenue : 0;
        visitors[i] = m ? (int64_t)round(cp_hll_count(&m->visitors)) : 0;
    }
    cp_buf_appendf(b, ",\"per_minute\":{\"start\":%lld",
                   (long long)(now_min - PER_MINUTE + 1) * MINUTE_MS);
    json_series(b, "events", ev, PER_MINUTE);
    json_series(b, "pageviews", pv, PER_MINUTE);
    json_series(b, "visitors", visitors, PER_MINUTE);
    json_series(b, "orders", orders, PER_MINUTE);
    cp_buf_append_str(b, ",\"revenue\":[");
    for (int i = 0; i < PER_MINUTE; i++) {
        char rev[CP_MONEY_TEXT];
        cp_money_format(revenue[i], rev);
        cp_buf_appendf(b, "%s%s", i ? "," : "", rev);
    }
    cp_buf_append_str(b, "],\"kinds\":{"); /* the kinds seen in the hour */
    first = 1;
    for (int k = 0; k < CP_KIND__COUNT; k++) {
        int64_t any = 0;
        for (int i = 0; i < PER_MINUTE; i++) {
            const minute *m = minute_get(l, now_min - PER_MINUTE + 1 + i);
            ev[i] = m ? m->kinds[k] : 0;
            any |= ev[i];
        }
        if (!any) continue;
        cp_buf_appendf(b, "%s\"%s\":[", first ? "" : ",", cp_event_kind_name((cp_event_kind)k));
        for (int i = 0; i < PER_MINUTE; i++)
            cp_buf_appendf(b, "%s%lld", i ? "," : "", (long long)ev[i]);
        cp_buf_append_char(b, ']');
        first = 0;
    }
    cp_buf_append_str(b, "}}");
    int rc = window_locked(l, now_min - 29, now_min, &w);
    if (rc == CP_OK) json_window(b, "last_30m", &w);
    int64_t day = floor_div(now_ms, DAY_MS) * (DAY_MS / MINUTE_MS);
    if (rc == CP_OK && (rc = window_locked(l, day, now_min, &w)) == CP_OK)
        json_window(b, "today", &w);
    pthread_mutex_unlock(&l->mu);
    if (cp_buf_append_str(b, "}\n")) rc = CP_ENOMEM;
    return rc;
}

/* ---- persistence ---- */

static int persist_minute(const minute *m, cp_store *s, cp_buf *hll)
{
    cp_buf_reset(hll);
    if (m->visitors.set && cp_hll_serialize(&m->visitors, hll)) return CP_ENOMEM;
    int64_t ms = m->minute * MINUTE_MS;
    cp_rt_minute r = {.minute_ms = ms,
                      .events = m->events,
                      .pageviews = m->pageviews,
                      .visitors = (int64_t)round(cp_hll_count(&m->visitors)),
                      .sessions = m->sessions,
                      .converted = m->converted,
                      .orders = m->orders,
                      .bots = m->bots,
                      .revenue = m->revenue,
                      .hll = cp_buf_slice(hll)};
    memcpy(r.funnel, m->funnel, sizeof(r.funnel));
    int rc = cp_store_add_rt_minute(s, &r);
    for (int k = 0; k < CP_KIND__COUNT && rc == CP_OK; k++)
        if (m->kinds[k])
            rc = cp_store_add_rt_top(
                s, &(cp_rt_top){.minute_ms = ms,
                                .dim = "kind",
                                .key = cp_slice_from(cp_event_kind_name((cp_event_kind)k)),
                                .n = m->kinds[k]});
    for (int d = 0; d < DIM__COUNT && rc == CP_OK; d++) {
        const cp_counter *c = &m->dims[d];
        for (uint32_t i = 0; i < c->count && rc == CP_OK; i++) {
            const cp_counter_entry *e = &c->entries[i];
            rc = cp_store_add_rt_top(
                s, &(cp_rt_top){ms, dim_names[d], {e->key, e->len}, e->n, e->orders, e->revenue});
        }
        if (rc == CP_OK && (c->other.n || c->other.orders))
            rc = cp_store_add_rt_top(s, &(cp_rt_top){ms, dim_names[d], CP_SLICE_NULL, c->other.n,
                                                     c->other.orders, c->other.revenue});
    }
    return rc;
}

/* The minutes to rewrite that the tables may already hold: none newer than the newest
 * they hold, so a stream or a backfill moving forward deletes nothing. */
static size_t stored_minutes(const cp_live *l, int64_t *ms)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n_retired; i++)
        if (l->stored_max != EMPTY && l->retired[i].minute <= l->stored_max)
            ms[k++] = l->retired[i].minute * MINUTE_MS;
    for (int i = 0; i < MINUTES; i++)
        if (l->minutes[i].dirty && l->stored_max != EMPTY && l->minutes[i].minute <= l->stored_max)
            ms[k++] = l->minutes[i].minute * MINUTE_MS;
    return k;
}

int cp_live_persist(cp_live *l, cp_store *s)
{
    pthread_mutex_lock(&l->mu);
    size_t n = l->n_retired;
    for (int i = 0; i < MINUTES; i++) n += l->minutes[i].dirty;
    int64_t *ms = n ? cp_calloc(n, sizeof(*ms)) : NULL;
    int rc = n && !ms ? CP_ENOMEM : CP_OK;
    size_t k = ms ? stored_minutes(l, ms) : 0;
    if (rc == CP_OK && k) rc = cp_store_rt_delete(s, ms, k);
    cp_buf hll;
    cp_buf_init(&hll);
    for (size_t i = 0; i < l->n_retired && rc == CP_OK; i++)
        rc = persist_minute(&l->retired[i], s, &hll);
    for (int i = 0; i < MINUTES && rc == CP_OK; i++)
        if (l->minutes[i].dirty) rc = persist_minute(&l->minutes[i], s, &hll);
    if (rc == CP_OK) {
        for (int i = 0; i < MINUTES; i++)
            if (l->minutes[i].dirty) {
                if (l->minutes[i].minute > l->stored_max) l->stored_max = l->minutes[i].minute;
                l->minutes[i].dirty = false;
            }
        for (size_t i = 0; i < l->n_retired; i++) {
            if (l->retired[i].minute > l->stored_max) l->stored_max = l->retired[i].minute;
            minute_free(&l->retired[i]);
        }
        l->n_retired = 0;
    }
    pthread_mutex_unlock(&l->mu);
    cp_buf_free(&hll);
    cp_free(ms);
    return rc;
}

static int restore_minute(void *ud, const cp_rt_minute *r)
{
    cp_live *l = ud;
    minute *m = minute_for(l, floor_div(r->minute_ms, MINUTE_MS));
    if (!m) return CP_OK;
    m->events = r->events;
    m->pageviews = r->pageviews;
    m->sessions = r->sessions;
    m->converted = r->converted;
    m->orders = r->orders;
    m->bots = r->bots;
    m->revenue = r->revenue;
    memcpy(m->funnel, r->funnel, sizeof(m->funnel));
    if (r->hll.len) {
        int rc = cp_hll_merge_serialized(&m->visitors, r->hll.ptr, r->hll.len);
        if (rc) return rc;
    }
    int64_t t = r->minute_ms + MINUTE_MS - 1;
    if (l->max_time == EMPTY || t > l->max_time) l->max_time = t;
    return CP_OK;
}

static int restore_top(void *ud, const cp_rt_top *r)
{
    cp_live *l = ud;
    minute *m = minute_for(l, floor_div(r->minute_ms, MINUTE_MS));
    if (!m) return CP_OK;
    if (strcmp(r->dim, "kind") == 0) {
        for (int k = 0; k < CP_KIND__COUNT; k++)
            if (cp_slice_eq_lit(r->key, cp_event_kind_name((cp_event_kind)k))) m->kinds[k] = r->n;
        return CP_OK;
    }
    for (int d = 0; d < DIM__COUNT; d++) {
        if (strcmp(r->dim, dim_names[d]) != 0) continue;
        if (!r->key.ptr) { /* added: keys that had no room in the budget may be there */
            m->dims[d].other.n += r->n;
            m->dims[d].other.orders += r->orders;
            m->dims[d].other.revenue += r->revenue;
            return CP_OK;
        }
        count_key(l, m, d, r->key, r->n, r->orders, r->revenue);
        return CP_OK;
    }
    return CP_OK;
}

int cp_live_restore(cp_live *l, cp_store *s)
{
    int64_t newest;
    bool none;
    int rc = cp_store_scalar(s, "SELECT epoch_ms(max(minute)) FROM rt_minute", &newest, &none);
    if (rc || none) return rc;
    pthread_mutex_lock(&l->mu);
    reset_locked(l);
    rc = cp_store_scan_rt(s, newest - (MINUTES - 1) * MINUTE_MS, restore_minute, restore_top, l);
    for (int i = 0; i < MINUTES; i++) l->minutes[i].dirty = false;
    l->stored_max = floor_div(newest, MINUTE_MS);
    pthread_mutex_unlock(&l->mu);
    return rc;
}

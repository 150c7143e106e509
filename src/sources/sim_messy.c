/* The messy profile's planted cases (docs/simulator.md "The messy profile"): each
 * day, so many instances of each case per thousand customers, each a short script
 * of events by an actor of its own — a device with its own anonymousId, signed in
 * as one of the shop's customers where the case needs a userId. Every choice is a
 * hash of the seed, the case, the day and the instance, like the rest of the
 * simulator, and the variants of a case take turns. The events are numbered apart
 * from the standard traffic, so that the standard events around them are byte for
 * byte what the standard profile writes. How the events look on the wire is
 * sim_messy_format.c's business. */
#include "sim_internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <math.h>

/* Instances of each case per thousand customers per day. */
static const double per_thousand[CASE__COUNT] = {
    [CASE_GAP] = 3,      [CASE_LONG] = 2.5,  [CASE_MIDNIGHT] = 3, [CASE_SKEW] = 4,
    [CASE_NUMBERS] = 4,  [CASE_AMOUNTS] = 6, [CASE_REFUND] = 3,   [CASE_CURRENCY] = 5,
    [CASE_TWICE] = 3,    [CASE_FAR] = 6,     [CASE_ANON] = 3,     [CASE_BOT_AGENT] = 5,
    [CASE_BOT_PACE] = 5, [CASE_BAD] = 4,
};

/* Client clock errors of CASE_SKEW devices, by variant, in minutes (the first: right). */
const int32_t sim_messy_skew_min[SIM_MESSY_N_SKEWS] = {0, -4320, -1560, -300, -17,
                                                       2, 45,    310,   1440, 4320};

typedef struct script {
    const cp_sim_params *p;
    const sim_catalog *cat;
    sim_day *d;
    uint32_t *seq;
    uint64_t *counts;
    sim_rng r;
    int64_t day_ms; /* midnight starting the day planted on */
    int64_t t;      /* time of the last event */
    uint32_t inst;
    uint32_t turn; /* the case's instances before this one, for the variant */
    uint16_t day_off, n;
    uint8_t mcase, mvar, flags, mflags;
} script;

static int64_t below(script *s, int64_t n)
{
    return n > 0 ? (int64_t)sim_below(&s->r, (uint64_t)n) : 0;
}

/* An event of the script at time; NULL when out of memory. */
static sim_ev *at(script *s, int kind, int page_type, uint32_t item, int64_t time)
{
    sim_ev *e = sim_day_push(s->d);
    if (!e) return NULL;
    s->d->seq--; /* the standard traffic's numbering goes on as if this were not here */
    e->seq = 0x80000000u | (*s->seq)++;
    e->time_ms = time;
    e->sent_ms = time + 50 + below(s, 2950);
    e->recv_ms = e->sent_ms;
    e->cust = s->inst;
    e->session = s->day_off;
    e->kind = (uint8_t)kind;
    e->page_type = (uint8_t)page_type;
    e->item = item;
    e->flags = s->flags;
    e->mess = s->mcase;
    e->mvar = s->mvar;
    e->mflags = s->mflags;
    e->mev = s->n++;
    s->t = time;
    return e;
}

static sim_ev *next(script *s, int kind, int page_type, uint32_t item, int64_t gap)
{
    return at(s, kind, page_type, item, s->t + gap);
}

/* A copy of event i delivered delay ms later, with the same text (mshift keeps the
 * printed receivedAt); NULL when out of memory. */
static sim_ev *resend(script *s, size_t i, int64_t delay)
{
    sim_ev *c = sim_day_push(s->d);
    if (!c) return NULL;
    s->d->seq--;
    uint32_t seq = 0x80000000u | (*s->seq)++;
    *c = s->d->ev[i];
    c->seq = seq;
    c->recv_ms += delay;
    c->mshift = (int32_t)delay;
    return c;
}

/* The variant: they take turns, so that each comes up as often as the others. */
static uint8_t variant(script *s, unsigned n)
{
    return (uint8_t)(s->turn % n);
}

/* Starts the script at a random time of the day that leaves span before midnight. */
static void start(script *s, int64_t earliest, int64_t span)
{
    int64_t latest = CP_MS_PER_DAY - span - CP_MS_PER_MIN;
    s->t = s->day_ms + earliest + below(s, latest - earliest);
}

static uint32_t any_product(script *s)
{
    return (uint32_t)below(s, s->cat->n);
}

/* One page view of a random kind, gap after the last event; a product page is followed
 * by Product Viewed when product_view is set. */
static int browse(script *s, int64_t gap, int product_view)
{
    double u = sim_unit(&s->r);
    if (u < 0.45) {
        uint32_t prod = any_product(s);
        if (!next(s, CP_KIND_PAGE, PAGE_PRODUCT, prod, gap)) return CP_ENOMEM;
        if (product_view &&
            !next(s, CP_KIND_PRODUCT_VIEWED, PAGE_PRODUCT, prod, 150 + below(s, 450)))
            return CP_ENOMEM;
        return CP_OK;
    }
    int type = u < 0.75 ? PAGE_CATEGORY : u < 0.85 ? PAGE_SEARCH : u < 0.93 ? PAGE_SALE : PAGE_HOME;
    uint32_t item = (uint32_t)below(s, sim_n_categories);
    return next(s, CP_KIND_PAGE, type, item, gap) ? CP_OK : CP_ENOMEM;
}

/* k page views 10–90 s apart. */
static int burst(script *s, int k)
{
    for (int i = 0; i < k; i++)
        if (browse(s, 10000 + below(s, 80000), 1)) return CP_ENOMEM;
    return CP_OK;
}

static int push_line(sim_day *d, uint32_t product, uint8_t qty)
{
    if (cp_grow((void **)&d->lines, &d->cap_lines, d->n_lines + 1, sizeof(sim_line)))
        return CP_ENOMEM;
    d->lines[d->n_lines++] = (sim_line){product, qty};
    return CP_OK;
}

/* From min to max distinct products with quantities 1–3, appended to the day's order lines. */
static int basket(script *s, int min, int max, uint32_t *off, uint8_t *n)
{
    int want = min + (int)below(s, max - min + 1);
    *off = (uint32_t)s->d->n_lines;
    *n = 0;
    for (int tries = 0; *n < want && tries < 64; tries++) {
        uint32_t prod = any_product(s);
        int dup = 0;
        for (uint8_t j = 0; j < *n; j++) dup |= s->d->lines[*off + j].product == prod;
        if (dup) continue;
        if (push_line(s->d, prod, (uint8_t)(sim_unit(&s->r) < 0.7 ? 1 : 2 + below(s, 2))))
            return CP_ENOMEM;
        (*n)++;
    }
    return CP_OK;
}

/* Product pages and Product Added for each product of a basket, the cart, Checkout
 * Started, Order Completed and the confirmation page; *order is the order's index. */
static int checkout(script *s, int min, int max, size_t *order)
{
    uint32_t off;
    uint8_t n;
    if (basket(s, min, max, &off, &n)) return CP_ENOMEM;
    for (uint8_t i = 0; i < n; i++) {
        const sim_line l = s->d->lines[off + i];
        sim_ev *e;
        if (!next(s, CP_KIND_PAGE, PAGE_PRODUCT, l.product, 5000 + below(s, 55000)) ||
            !next(s, CP_KIND_PRODUCT_VIEWED, PAGE_PRODUCT, l.product, 150 + below(s, 450)) ||
            !(e = next(s, CP_KIND_PRODUCT_ADDED, PAGE_PRODUCT, l.product, 2000 + below(s, 20000))))
            return CP_ENOMEM;
        e->n_lines = l.qty; /* Product Added carries its quantity here, as in sim_model.c */
    }
    sim_ev *e;
    if (!next(s, CP_KIND_PAGE, PAGE_CART, 0, 5000 + below(s, 40000)) ||
        !next(s, CP_KIND_CART_VIEWED, PAGE_CART, 0, 200 + below(s, 300)) ||
        !next(s, CP_KIND_PAGE, PAGE_CHECKOUT, 0, 5000 + below(s, 40000)) ||
        !(e = next(s, CP_KIND_CHECKOUT_STARTED, PAGE_CHECKOUT, 0, 300)))
        return CP_ENOMEM;
    e->lines_off = off;
    e->n_lines = n;
    if (!(e = next(s, CP_KIND_ORDER_COMPLETED, PAGE_CONFIRM, 0, 30000 + below(s, 150000))))
        return CP_ENOMEM;
    e->lines_off = off;
    e->n_lines = n;
    *order = s->d->n - 1;
    return next(s, CP_KIND_PAGE, PAGE_CONFIRM, 0, 800) ? CP_OK : CP_ENOMEM;
}

static int landing(script *s)
{
    int type = sim_unit(&s->r) < 0.5 ? PAGE_HOME : PAGE_CATEGORY;
    return at(s, CP_KIND_PAGE, type, (uint32_t)below(s, sim_n_categories), s->t) ? CP_OK
                                                                                 : CP_ENOMEM;
}

static void identified_or_not(script *s)
{
    if (sim_unit(&s->r) < 0.5) s->flags |= EVF_USER;
}

static int64_t max_gap(script *s, int64_t want)
{
    int64_t half = s->p->session_timeout_ms / 2;
    return want < half ? want : half;
}

/* 1: gaps of exactly the session timeout, 1 ms under and 1 ms over it. */
static int plant_gap(script *s)
{
    int64_t timeout = s->p->session_timeout_ms;
    int64_t span = 3 * timeout + 40 * CP_MS_PER_MIN;
    if (timeout < 2 || span > 20 * CP_MS_PER_HOUR) return CP_OK;
    identified_or_not(s);
    start(s, 31 * CP_MS_PER_MIN, span);
    static const int64_t delta[3] = {0, -1, 1};
    static const int which[3] = {M_GAP_EXACT, M_GAP_UNDER, M_GAP_OVER};
    if (landing(s) || burst(s, 1 + (int)below(s, 3))) return CP_ENOMEM;
    for (int i = 0; i < 3; i++) {
        if (browse(s, timeout + delta[i], 1) || burst(s, (int)below(s, 3) + (i < 2)))
            return CP_ENOMEM;
        s->counts[which[i]]++;
    }
    return CP_OK;
}

/* 2: a device active, never more than ten minutes apart, for more than 24 hours. */
static int plant_long(script *s)
{
    int64_t window_end = (s->p->start_day + s->p->days) * CP_MS_PER_DAY;
    int64_t latest = window_end - s->day_ms - 28 * CP_MS_PER_HOUR; /* ends within the window */
    if (latest > 22 * CP_MS_PER_HOUR) latest = 22 * CP_MS_PER_HOUR;
    if (latest <= 0) return CP_OK;
    int64_t most = max_gap(s, 10 * CP_MS_PER_MIN), least = most * 6 / 10;
    identified_or_not(s);
    s->t = s->day_ms + 31 * CP_MS_PER_MIN + below(s, latest);
    int64_t end = s->t + CP_MS_PER_DAY + 10 * CP_MS_PER_MIN + below(s, 170 * CP_MS_PER_MIN);
    if (landing(s)) return CP_ENOMEM;
    while (s->t < end)
        if (browse(s, least + below(s, most - least + 1), sim_unit(&s->r) < 0.3)) return CP_ENOMEM;
    s->counts[M_LONG]++;
    return CP_OK;
}

/* 3: a session from before midnight UTC to after it. */
static int plant_midnight(script *s)
{
    if (s->day_off + 1 >= s->p->days) return CP_OK;
    int64_t midnight = s->day_ms + CP_MS_PER_DAY, most = max_gap(s, 6 * CP_MS_PER_MIN);
    identified_or_not(s);
    s->t = midnight - 5 * CP_MS_PER_MIN - below(s, 35 * CP_MS_PER_MIN);
    int64_t end = midnight + 5 * CP_MS_PER_MIN + below(s, 35 * CP_MS_PER_MIN);
    if (landing(s)) return CP_ENOMEM;
    while (s->t < end)
        if (browse(s, 30000 + below(s, most - 30000 + 1), 1)) return CP_ENOMEM;
    s->counts[M_MIDNIGHT]++;
    return CP_OK;
}

/* 4: a device with a wrong clock (or a right one) whose lines sometimes lack receivedAt,
 * sentAt or both. Between 06:00 and 17:00, so that neither the true nor the skewed
 * times of the session cross midnight. */
static int plant_skew(script *s)
{
    s->mvar = variant(s, SIM_MESSY_N_SKEWS);
    identified_or_not(s);
    s->t = s->day_ms + 6 * CP_MS_PER_HOUR + below(s, 10 * CP_MS_PER_HOUR);
    size_t first = s->d->n;
    int k = 2 + (int)below(s, 6);
    if (landing(s)) return CP_ENOMEM;
    for (int i = 0; i < k; i++)
        if (browse(s, 10000 + below(s, 110000), 1)) return CP_ENOMEM;
    for (size_t i = first; i < s->d->n; i++) {
        double u = sim_unit(&s->r);
        uint8_t f = u < 0.5    ? 0
                    : u < 0.8  ? MF_NO_RECEIVED_AT
                    : u < 0.95 ? MF_NO_SENT_AT
                               : MF_NO_RECEIVED_AT | MF_NO_SENT_AT;
        s->d->ev[i].mflags = f;
        s->counts[M_NO_RECEIVED_AT] += (f & MF_NO_RECEIVED_AT) != 0;
        s->counts[M_NO_SENT_AT] += (f & MF_NO_SENT_AT) != 0;
    }
    s->counts[s->mvar ? M_SKEWED : M_UNSKEWED]++;
    return CP_OK;
}

/* 5: an order whose amounts and quantities are strings, exponents or have trailing zeros. */
static int plant_numbers(script *s)
{
    s->mvar = variant(s, 4);
    s->flags |= EVF_USER;
    start(s, 31 * CP_MS_PER_MIN, 2 * CP_MS_PER_HOUR);
    size_t order;
    if (landing(s) || checkout(s, 1, 3, &order)) return CP_ENOMEM;
    s->counts[M_NUM_STRINGS + s->mvar]++;
    return CP_OK;
}

/* 6: an order of one product whose price and amounts are an edge value. */
static int plant_amounts(script *s)
{
    s->mvar = variant(s, SIM_MESSY_N_EDGE_AMOUNTS);
    s->flags |= EVF_USER;
    start(s, 31 * CP_MS_PER_MIN, CP_MS_PER_HOUR);
    uint32_t prod = any_product(s), off = (uint32_t)s->d->n_lines;
    if (push_line(s->d, prod, 1)) return CP_ENOMEM;
    sim_ev *e;
    if (!at(s, CP_KIND_PAGE, PAGE_PRODUCT, prod, s->t) ||
        !next(s, CP_KIND_PAGE, PAGE_CHECKOUT, 0, 5000 + below(s, 40000)) ||
        !(e = next(s, CP_KIND_CHECKOUT_STARTED, PAGE_CHECKOUT, 0, 300)))
        return CP_ENOMEM;
    e->lines_off = off;
    e->n_lines = 1;
    if (!(e = next(s, CP_KIND_ORDER_COMPLETED, PAGE_CONFIRM, 0, 30000 + below(s, 150000))))
        return CP_ENOMEM;
    e->lines_off = off;
    e->n_lines = 1;
    if (!next(s, CP_KIND_PAGE, PAGE_CONFIRM, 0, 800)) return CP_ENOMEM;
    s->counts[M_AMT_ZERO + s->mvar]++;
    return CP_OK;
}

/* The lines a refund by products gives back: a non-empty proper part of the order (or
 * part of the quantity of a single line), appended to the day's lines. */
static int refund_lines(script *s, uint32_t off, uint8_t n, uint32_t *roff, uint8_t *rn)
{
    *roff = (uint32_t)s->d->n_lines;
    *rn = 0;
    unsigned all = (1u << n) - 1, mask = n > 1 ? 1 + (unsigned)below(s, all - 1) : 1;
    for (uint8_t i = 0; i < n; i++) {
        if (!(mask & (1u << i))) continue;
        sim_line l = s->d->lines[off + i];
        uint8_t qty = l.qty > 1 && (n == 1 || sim_unit(&s->r) < 0.5) ? l.qty - 1 : l.qty;
        if (push_line(s->d, l.product, qty)) return CP_ENOMEM;
        (*rn)++;
    }
    return CP_OK;
}

/* 7: an order, refunded by the shop's server 1 hour to 3 days later (within the window):
 * whole, by revenue or total, or some of its products. */
static int plant_refund(script *s)
{
    s->mvar = variant(s, 3);
    s->flags |= EVF_USER;
    start(s, 31 * CP_MS_PER_MIN, 4 * CP_MS_PER_HOUR);
    size_t order;
    if (landing(s) || checkout(s, 2, 4, &order)) return CP_ENOMEM;
    int64_t window_end = (s->p->start_day + s->p->days) * CP_MS_PER_DAY;
    int64_t room = window_end - 30 * CP_MS_PER_MIN - s->t, most = 72 * CP_MS_PER_HOUR;
    if (room < most) most = room;
    int64_t delay =
        most > CP_MS_PER_HOUR ? CP_MS_PER_HOUR + below(s, most - CP_MS_PER_HOUR) : most / 2;
    uint32_t off = s->d->ev[order].lines_off;
    uint8_t n = s->d->ev[order].n_lines;
    if (s->mvar == 2 && refund_lines(s, off, n, &off, &n)) return CP_ENOMEM;
    s->mflags = MF_SERVER;
    sim_ev *e = next(s, CP_KIND_ORDER_REFUNDED, PAGE_CONFIRM, 0, delay);
    if (!e) return CP_ENOMEM;
    e->lines_off = off;
    e->n_lines = n;
    s->counts[M_REFUND_REVENUE + s->mvar]++;
    return CP_OK;
}

/* 8: an order in USD, EUR, GBP, JPY or XTS (a currency without a rate). */
static int plant_currency(script *s)
{
    static const uint8_t turns[10] = {0, 1, 2, 3, 1, 3, 0, 1, 2, 4}; /* XTS one in ten */
    s->mvar = turns[variant(s, 10)];
    s->flags |= EVF_USER;
    start(s, 31 * CP_MS_PER_MIN, 2 * CP_MS_PER_HOUR);
    size_t order;
    if (landing(s) || checkout(s, 1, 3, &order)) return CP_ENOMEM;
    s->counts[M_CUR_USD + s->mvar]++;
    return CP_OK;
}

/* 9: one order_id in two Order Completed with their own messageIds: the same amounts
 * seconds apart, other amounts minutes apart, or the same amounts hours apart. */
static int plant_twice(script *s)
{
    s->mvar = variant(s, 3);
    s->flags |= EVF_USER;
    start(s, 31 * CP_MS_PER_MIN, 10 * CP_MS_PER_HOUR);
    size_t order;
    if (landing(s) || checkout(s, 1, 3, &order)) return CP_ENOMEM;
    int64_t delay = s->mvar == 0   ? 2000 + below(s, 28000)
                    : s->mvar == 1 ? CP_MS_PER_MIN + below(s, 9 * CP_MS_PER_MIN)
                                   : 2 * CP_MS_PER_HOUR + below(s, 6 * CP_MS_PER_HOUR);
    uint32_t off = s->d->ev[order].lines_off;
    uint8_t n = s->d->ev[order].n_lines;
    if (s->mvar == 1) { /* one more of the first product */
        uint32_t again = (uint32_t)s->d->n_lines;
        for (uint8_t i = 0; i < n; i++) {
            sim_line l = s->d->lines[off + i];
            if (push_line(s->d, l.product, (uint8_t)(l.qty + (i == 0)))) return CP_ENOMEM;
        }
        off = again;
    }
    sim_ev *e = at(s, CP_KIND_ORDER_COMPLETED, PAGE_CONFIRM, 0, s->d->ev[order].time_ms + delay);
    if (!e) return CP_ENOMEM;
    e->lines_off = off;
    e->n_lines = n;
    s->counts[M_TWICE_SAME + s->mvar]++;
    return CP_OK;
}

/* 10: a short visit whose last event is delivered again far later in the output
 * (simulator.c decides where), with or without receivedAt. */
static int plant_far(script *s)
{
    s->mvar = variant(s, 2);
    identified_or_not(s);
    start(s, 31 * CP_MS_PER_MIN, CP_MS_PER_HOUR);
    if (landing(s)) return CP_ENOMEM;
    for (int i = 0, k = 1 + (int)below(s, 3); i < k; i++)
        if (browse(s, 5000 + below(s, 85000), 1)) return CP_ENOMEM;
    sim_ev *e = &s->d->ev[s->d->n - 1];
    e->mflags |= MF_FAR | MF_LINE | (s->mvar ? MF_NO_RECEIVED_AT : 0);
    s->counts[M_NO_RECEIVED_AT] += s->mvar;
    return CP_OK;
}

/* 11: an order by a device known only by its anonymousId, and an identify linking it to
 * a userId 2–10 hours later (sometimes followed by a page view signed in). */
static int plant_anon(script *s)
{
    s->mvar = variant(s, 2);
    s->t = s->day_ms + 31 * CP_MS_PER_MIN + below(s, 11 * CP_MS_PER_HOUR);
    size_t order;
    if (landing(s) || burst(s, 1 + (int)below(s, 3)) || checkout(s, 1, 3, &order)) return CP_ENOMEM;
    s->flags |= EVF_USER;
    if (!next(s, CP_KIND_IDENTIFY, PAGE_HOME, 0, 2 * CP_MS_PER_HOUR + below(s, 8 * CP_MS_PER_HOUR)))
        return CP_ENOMEM;
    if (s->mvar && !next(s, CP_KIND_PAGE, PAGE_HOME, 0, 10000 + below(s, 50000))) return CP_ENOMEM;
    s->counts[M_ANON]++;
    return CP_OK;
}

/* 12: a visit with a user agent at the edge of bot detection: tools and crawlers that
 * fetch a few pages at a human pace, and people whose browser names a bot-like word. */
static int plant_bot_agent(script *s)
{
    s->mvar = variant(s, SIM_MESSY_N_EDGE_AGENTS);
    start(s, 31 * CP_MS_PER_MIN, CP_MS_PER_HOUR);
    if (landing(s)) return CP_ENOMEM;
    if (s->mvar < SIM_MESSY_N_TOOL_AGENTS) {
        for (int i = 0, k = 2 + (int)below(s, 10); i < k; i++)
            if (browse(s, 2000 + below(s, 18000), 0)) return CP_ENOMEM;
    } else {
        for (int i = 0, k = 2 + (int)below(s, 5); i < k; i++)
            if (browse(s, 5000 + below(s, 85000), 1)) return CP_ENOMEM;
        if (sim_unit(&s->r) < 0.3) {
            sim_ev *e = next(s, CP_KIND_PRODUCT_ADDED, PAGE_PRODUCT, any_product(s), 3000);
            if (!e) return CP_ENOMEM;
            e->n_lines = 1;
        }
    }
    s->counts[M_UA_SCRAPY + s->mvar]++;
    return CP_OK;
}

/* 12: page views alone at a pace at the edges of the rule "at least 15 page views, a
 * median under 2.5 s between them": pages and the gaps between them, by variant. */
static int plant_bot_pace(script *s)
{
    static const struct {
        int pages;
        int64_t gap[2]; /* alternating */
    } paces[SIM_MESSY_N_PACES] = {{17, {1000, 3900}}, {17, {1100, 4000}}, {15, {2499, 2499}},
                                  {15, {2500, 2500}}, {15, {2501, 2501}}, {14, {1000, 1000}},
                                  {20, {1000, 1000}}};
    s->mvar = variant(s, SIM_MESSY_N_PACES);
    start(s, 31 * CP_MS_PER_MIN, CP_MS_PER_HOUR);
    if (landing(s)) return CP_ENOMEM;
    for (int i = 1; i < paces[s->mvar].pages; i++) {
        int64_t gap = paces[s->mvar].gap[(i - 1) % 2];
        if (s->mvar == 6 && i == 10) { /* another kind of event between two pages */
            if (!next(s, CP_KIND_PRODUCT_VIEWED, PAGE_PRODUCT, any_product(s), 300))
                return CP_ENOMEM;
            gap -= 300;
        }
        if (browse(s, gap, 0)) return CP_ENOMEM;
    }
    s->counts[M_PACE_2450 + s->mvar]++;
    return CP_OK;
}

/* 13: a track call with "name" instead of "event", a message without messageId sent twice
 * byte for byte, or two without messageId differing only in the order of their fields. */
static int plant_bad(script *s)
{
    s->mvar = variant(s, 3);
    identified_or_not(s);
    start(s, 31 * CP_MS_PER_MIN, CP_MS_PER_HOUR);
    uint32_t prod = any_product(s);
    if (landing(s) || !next(s, CP_KIND_PAGE, PAGE_PRODUCT, prod, 5000 + below(s, 55000)))
        return CP_ENOMEM;
    s->mflags = s->mvar == 0 ? MF_NAME : MF_NO_MESSAGE_ID | MF_LINE;
    if (!next(s, CP_KIND_PRODUCT_VIEWED, PAGE_PRODUCT, prod, 150 + below(s, 450))) return CP_ENOMEM;
    if (s->mvar) {
        sim_ev *c = resend(s, s->d->n - 1, 1000 + below(s, 19000));
        if (!c) return CP_ENOMEM;
        if (s->mvar == 2) c->mflags |= MF_REORDERED;
    }
    s->counts[M_BAD_NAME + s->mvar]++;
    return CP_OK;
}

int sim_messy_day(const cp_sim_params *p, const sim_catalog *cat, sim_day *d, sim_messy *m,
                  uint64_t *counts)
{
    static int (*const plant[CASE__COUNT])(script *) = {
        [CASE_GAP] = plant_gap,           [CASE_LONG] = plant_long,
        [CASE_MIDNIGHT] = plant_midnight, [CASE_SKEW] = plant_skew,
        [CASE_NUMBERS] = plant_numbers,   [CASE_AMOUNTS] = plant_amounts,
        [CASE_REFUND] = plant_refund,     [CASE_CURRENCY] = plant_currency,
        [CASE_TWICE] = plant_twice,       [CASE_FAR] = plant_far,
        [CASE_ANON] = plant_anon,         [CASE_BOT_AGENT] = plant_bot_agent,
        [CASE_BOT_PACE] = plant_bot_pace, [CASE_BAD] = plant_bad,
    };
    for (int c = CASE_NONE + 1; c < CASE__COUNT; c++) {
        double want = per_thousand[c] * (double)p->customers / 1000.0;
        uint64_t h = sim_hash(p->seed, 79, (uint64_t)d->day, (uint64_t)c);
        uint32_t n = (uint32_t)want + (sim_hash_unit(h) < want - floor(want));
        for (uint32_t i = 0; i < n; i++) {
            script s = {.p = p,
                        .cat = cat,
                        .d = d,
                        .seq = &m->seq,
                        .counts = counts,
                        .r = {sim_hash(p->seed, 80 + (uint64_t)c, (uint64_t)d->day, i)},
                        .day_ms = d->day * CP_MS_PER_DAY,
                        .inst = i,
                        .turn = m->planted[c]++,
                        .day_off = (uint16_t)(d->day - p->start_day),
                        .mcase = (uint8_t)c,
                        .flags = EVF_MESSY};
            s.t = s.day_ms;
            if (plant[c](&s)) return CP_ENOMEM;
        }
    }
    return CP_OK;
}

/* The shop's behaviour: customer profiles and personas, the catalogue, and
 * what each customer does on a given day — sessions of page views, product
 * views, cart changes, checkouts and orders, with daily and weekly rhythm.
 * Sessions are generated so that the inactivity rule recovers them exactly:
 * events inside a session are minutes apart at most, sessions of a customer
 * are more than the session timeout apart and never cross midnight. */
#include "sim_internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct persona_params {
    double weight;
    double p_active;    /* chance of a session on an ordinary day */
    double p_extra;     /* chance of each further session that day */
    double browse_mean; /* pages browsed before the funnel */
    double p_product;   /* a browsed page is a product page */
    double p_add;       /* the session adds to the cart */
    double p_checkout;  /* a cart goes to checkout */
    double p_order;     /* a checkout completes */
    int basket_max;     /* products per basket: 1..basket_max */
    int price_tier;     /* 0 cheap, 1 middle, 2 expensive */
    int churns;         /* activity fades and stops */
} persona_params;

static const persona_params personas[PERSONA__COUNT] = {
    [PERSONA_WINDOW_SHOPPER] = {0.35, 0.12, 0.15, 8.0, 0.65, 0.04, 0.20, 0.30, 2, 1, 0},
    [PERSONA_BARGAIN_HUNTER] = {0.25, 0.14, 0.25, 9.0, 0.70, 0.15, 0.45, 0.60, 4, 0, 0},
    [PERSONA_REGULAR] = {0.20, 0.12, 0.10, 5.0, 0.60, 0.30, 0.60, 0.75, 3, 1, 0},
    [PERSONA_LOYAL_HIGH_SPENDER] = {0.10, 0.22, 0.30, 6.0, 0.75, 0.35, 0.80, 0.90, 5, 2, 0},
    [PERSONA_CHURNING] = {0.10, 0.22, 0.20, 5.0, 0.60, 0.15, 0.50, 0.70, 3, 1, 1},
};

static const char *const persona_names[PERSONA__COUNT] = {
    "window_shopper", "bargain_hunter", "regular", "loyal_high_spender", "churning"};

/* Share of the day's sessions starting in each UTC hour (evening peak). */
static const double hour_weight[24] = {0.8, 0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.2, 2.0, 2.6, 2.9, 3.1,
                                       3.4, 3.3, 3.0, 2.9, 3.0, 3.3, 3.8, 4.4, 4.6, 4.0, 2.8, 1.6};
/* Monday … Sunday. */
static const double weekday_factor[7] = {0.95, 0.92, 0.95, 1.00, 1.06, 1.18, 1.12};

const char *cp_sim_persona_name(int persona)
{
    return persona >= 0 && persona < PERSONA__COUNT ? persona_names[persona] : "?";
}

static int pick_weighted(double u, const double *w, size_t stride, int n)
{
    double total = 0, acc = 0;
    for (int i = 0; i < n; i++) total += *(const double *)((const char *)w + stride * (size_t)i);
    u *= total;
    for (int i = 0; i < n; i++) {
        acc += *(const double *)((const char *)w + stride * (size_t)i);
        if (u < acc) return i;
    }
    return n - 1;
}

void sim_customer_of(const cp_sim_params *p, uint32_t idx, sim_customer *c)
{
    sim_rng r = {sim_hash(p->seed, 1, idx, 0)};
    memset(c, 0, sizeof(*c));
    c->idx = idx;
    c->persona = (uint8_t)pick_weighted(sim_unit(&r), &personas[0].weight, sizeof(persona_params),
                                        PERSONA__COUNT);
    c->shift_persona = c->persona;
    c->shift_on = INT32_MAX;
    if (p->shift_rate > 0 && c->persona == p->shift_from &&
        sim_hash_unit(sim_hash(p->seed, 8, idx, 0)) < p->shift_rate) {
        c->shift_persona = (uint8_t)p->shift_to;
        c->shift_on = (int32_t)(p->start_day + (p->shift_day ? p->shift_day : p->days / 2));
    }
    c->country = (uint8_t)pick_weighted(sim_unit(&r), &sim_countries[0].weight, sizeof(sim_country),
                                        sim_n_countries);
    c->source = (uint8_t)pick_weighted(sim_unit(&r), &sim_sources[0].weight, sizeof(sim_source),
                                       sim_n_sources);
    c->first_name = (uint16_t)sim_below(&r, SIM_N_FIRST);
    c->last_name = (uint16_t)sim_below(&r, SIM_N_LAST);
    c->email_domain = (uint8_t)sim_below(&r, SIM_N_DOMAINS);
    c->email_number = (uint16_t)sim_below(&r, 1000);
    double u = sim_unit(&r);
    c->device_kind[0] = u < 0.52 ? DEV_MOBILE : u < 0.92 ? DEV_DESKTOP : DEV_TABLET;
    c->n_devices = sim_unit(&r) < 0.3 ? 2 : 1;
    c->device_kind[1] = c->device_kind[0] == DEV_DESKTOP ? DEV_MOBILE : DEV_DESKTOP;
    /* signup_rate of the customers sign up during the window (by default three in ten),
     * the rest in the year before it. */
    if (sim_unit(&r) < 1 - p->signup_rate)
        c->signup_day = (int32_t)(p->start_day - 1 - (int64_t)sim_below(&r, 365));
    else
        c->signup_day = (int32_t)(p->start_day + (int64_t)sim_below(&r, (uint64_t)p->days));
    static const int32_t skews[] = {-4320, -1560, -300, -17, 2, 45, 310, 1440};
    for (int d = 0; d < 2; d++) {
        c->ua_variant[d] = (uint32_t)sim_next(&r);
        c->skew_min[d] = sim_unit(&r) < p->skew_rate ? skews[sim_below(&r, 8)] : 0;
    }
}

int cp_sim_persona_of(const cp_sim_params *p, int64_t customer)
{
    sim_customer c;
    sim_customer_of(p, (uint32_t)customer, &c);
    return c.persona;
}

static int persona_on(const sim_customer *c, int64_t day)
{
    return day >= c->shift_on ? c->shift_persona : c->persona;
}

int cp_sim_persona_on(const cp_sim_params *p, int64_t customer, int64_t day)
{
    sim_customer c;
    sim_customer_of(p, (uint32_t)customer, &c);
    return persona_on(&c, day);
}

static int cmp_price(const void *a, const void *b, void *cat)
{
    const sim_product *items = cat;
    uint32_t pa = items[*(const uint32_t *)a].price_cents,
             pb = items[*(const uint32_t *)b].price_cents;
    if (pa != pb) return pa < pb ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

int sim_catalog_init(sim_catalog *cat, const cp_sim_params *p)
{
    static const double base_price[] = {180, 45, 60, 25, 55, 15, 30, 8, 35, 85};
    cat->n = (uint32_t)p->products;
    cat->items = cp_calloc(cat->n, sizeof(*cat->items));
    cat->by_price = cp_calloc(cat->n, sizeof(*cat->by_price));
    if (!cat->items || !cat->by_price) {
        sim_catalog_free(cat);
        return CP_ENOMEM;
    }
    for (uint32_t i = 0; i < cat->n; i++) {
        sim_rng r = {sim_hash(p->seed, 2, i, 0)};
        sim_product *it = &cat->items[i];
        it->category = (uint8_t)sim_below(&r, (uint64_t)sim_n_categories);
        double u = sim_unit(&r);
        double dollars = base_price[it->category] * (0.25 + 2.75 * u * u);
        it->price_cents = (uint32_t)floor(dollars) * 100 + 99;
        it->adjective = (uint16_t)sim_below(&r, SIM_N_ADJ);
        it->noun = (uint16_t)sim_below(&r, SIM_N_NOUN);
        cat->by_price[i] = i;
    }
    qsort_r(cat->by_price, cat->n, sizeof(uint32_t), cmp_price, cat->items);
    return CP_OK;
}

void sim_catalog_free(sim_catalog *cat)
{
    cp_free(cat->items);
    cp_free(cat->by_price);
    cat->items = NULL;
    cat->by_price = NULL;
}

sim_ev *sim_day_push(sim_day *d)
{
    if (cp_grow((void **)&d->ev, &d->cap, d->n + 1, sizeof(sim_ev))) return NULL;
    sim_ev *e = &d->ev[d->n++];
    memset(e, 0, sizeof(*e));
    e->seq = d->seq++;
    return e;
}

static int push_line(sim_day *d, uint32_t product, uint8_t qty)
{
    if (cp_grow((void **)&d->lines, &d->cap_lines, d->n_lines + 1, sizeof(sim_line)))
        return CP_ENOMEM;
    d->lines[d->n_lines++] = (sim_line){product, qty};
    return CP_OK;
}

/* A product for this persona: its price tier, popular (cheaper) items first. */
static uint32_t pick_product(const sim_catalog *cat, sim_rng *r, int tier)
{
    double u = sim_unit(r);
    u = u * u;
    uint32_t n = cat->n, lo = tier == 0 ? 0 : tier == 1 ? n / 5 : n / 2;
    uint32_t span = tier == 0 ? n / 3 : tier == 1 ? n * 3 / 5 : n / 2;
    uint32_t k = lo + (uint32_t)(u * span);
    return cat->by_price[k < n ? k : n - 1];
}

/* Builds one session's events in order; times are filled in relative to 0. */
typedef struct session_ctx {
    sim_day *d;
    const sim_customer *c;
    const persona_params *pp;
    const sim_catalog *cat;
    sim_rng r;
    int64_t t;    /* time of the last event, relative to the session start */
    size_t first; /* index of the session's first event in d */
    uint16_t session;
    uint8_t device, ev_idx, flags;
} session_ctx;

static sim_ev *add(session_ctx *s, int kind, int page_type, uint32_t item, int64_t gap)
{
    sim_ev *e = sim_day_push(s->d);
    if (!e) return NULL;
    s->t += gap;
    e->time_ms = s->t;
    e->cust = s->c ? s->c->idx : 0;
    e->kind = (uint8_t)kind;
    e->page_type = (uint8_t)page_type;
    e->item = item;
    e->session = s->session;
    e->device = s->device;
    e->flags = s->flags;
    e->ev_idx = s->ev_idx++;
    return e;
}

/* The pause before the next page: mostly seconds, sometimes minutes (well under the timeout). */
static int64_t think(sim_rng *r)
{
    double u = sim_unit(r);
    if (u < 0.85) return 3000 + (int64_t)sim_below(r, 87000);
    return 90000 + (int64_t)sim_below(r, 510000);
}

static int view_product(session_ctx *s, uint32_t product)
{
    if (!add(s, CP_KIND_PAGE, PAGE_PRODUCT, product, think(&s->r))) return CP_ENOMEM;
    if (!add(s, CP_KIND_PRODUCT_VIEWED, PAGE_PRODUCT, product,
             150 + (int64_t)sim_below(&s->r, 450)))
        return CP_ENOMEM;
    return CP_OK;
}

static int browse(session_ctx *s)
{
    int pages = (int)(-log(1.0 - sim_unit(&s->r)) * s->pp->browse_mean);
    if (pages > 60) pages = 60;
    for (int i = 0; i < pages; i++) {
        if (sim_unit(&s->r) < s->pp->p_product) {
            if (view_product(s, pick_product(s->cat, &s->r, s->pp->price_tier))) return CP_ENOMEM;
        } else {
            double u = sim_unit(&s->r);
            int type = u < 0.6    ? PAGE_CATEGORY
                       : u < 0.75 ? PAGE_SEARCH
                       : u < 0.9  ? PAGE_SALE
                                  : PAGE_BLOG;
            uint32_t item = (uint32_t)sim_below(&s->r, (uint64_t)sim_n_categories);
            if (!add(s, CP_KIND_PAGE, type, item, think(&s->r))) return CP_ENOMEM;
        }
    }
    return CP_OK;
}

/* Cart, checkout and order; identified says whether the customer can check out. */
static int funnel(session_ctx *s, int identified)
{
    if (sim_unit(&s->r) >= s->pp->p_add) return CP_OK;
    sim_day *d = s->d;
    int basket = 1 + (int)sim_below(&s->r, (uint64_t)s->pp->basket_max);
    uint32_t items[8];
    uint8_t qty[8];
    int n = 0;
    for (int i = 0; i < basket; i++) {
        uint32_t prod = pick_product(s->cat, &s->r, s->pp->price_tier);
        int dup = 0;
        for (int j = 0; j < n; j++) dup |= items[j] == prod;
        if (dup) continue;
        if (view_product(s, prod)) return CP_ENOMEM;
        items[n] = prod;
        qty[n] = (uint8_t)(sim_unit(&s->r) < 0.8 ? 1 : 2 + sim_below(&s->r, 2));
        sim_ev *e = add(s, CP_KIND_PRODUCT_ADDED, PAGE_PRODUCT, prod,
                        2000 + (int64_t)sim_below(&s->r, 20000));
        if (!e) return CP_ENOMEM;
        e->n_lines = qty[n]; /* Product Added carries its quantity here */
        n++;
    }
    if (n >= 2 && sim_unit(&s->r) < 0.15) {
        n--;
        sim_ev *e = add(s, CP_KIND_PRODUCT_REMOVED, PAGE_CART, items[n], think(&s->r));
        if (!e) return CP_ENOMEM;
        e->n_lines = qty[n];
    }
    if (!add(s, CP_KIND_PAGE, PAGE_CART, 0, think(&s->r)) ||
        !add(s, CP_KIND_CART_VIEWED, PAGE_CART, 0, 200 + (int64_t)sim_below(&s->r, 300)))
        return CP_ENOMEM;
    if (!identified || sim_unit(&s->r) >= s->pp->p_checkout) return CP_OK;
    uint32_t off = (uint32_t)d->n_lines;
    for (int i = 0; i < n; i++)
        if (push_line(d, items[i], qty[i])) return CP_ENOMEM;
    if (!add(s, CP_KIND_PAGE, PAGE_CHECKOUT, 0, think(&s->r))) return CP_ENOMEM;
    sim_ev *e = add(s, CP_KIND_CHECKOUT_STARTED, PAGE_CHECKOUT, 0, 300);
    if (!e) return CP_ENOMEM;
    e->lines_off = off;
    e->n_lines = (uint8_t)n;
    if (sim_unit(&s->r) >= s->pp->p_order) return CP_OK;
    e = add(s, CP_KIND_ORDER_COMPLETED, PAGE_CONFIRM, 0, 30000 + (int64_t)sim_below(&s->r, 150000));
    if (!e) return CP_ENOMEM;
    e->lines_off = off;
    e->n_lines = (uint8_t)n;
    if (!add(s, CP_KIND_PAGE, PAGE_CONFIRM, 0, 800)) return CP_ENOMEM;
    return CP_OK;
}

/* One session; signup marks the session in which the customer signs up. */
static int session(session_ctx *s, int identified, int signup)
{
    double u = sim_unit(&s->r);
    int landing = u < 0.45  ? PAGE_HOME
                  : u < 0.7 ? PAGE_CATEGORY
                  : u < 0.9 ? PAGE_PRODUCT
                            : PAGE_SALE;
    if (landing == PAGE_PRODUCT) {
        if (view_product(s, pick_product(s->cat, &s->r, s->pp->price_tier))) return CP_ENOMEM;
    } else if (!add(s, CP_KIND_PAGE, landing,
                    (uint32_t)sim_below(&s->r, (uint64_t)sim_n_categories), 0)) {
        return CP_ENOMEM;
    }
    if (signup) {
        if (!add(s, CP_KIND_PAGE, PAGE_SIGNUP, 0, think(&s->r))) return CP_ENOMEM;
        s->flags |= EVF_USER;
        if (!add(s, CP_KIND_SIGNED_UP, PAGE_SIGNUP, 0, 20000 + (int64_t)sim_below(&s->r, 60000)) ||
            !add(s, CP_KIND_IDENTIFY, PAGE_SIGNUP, 0, 50))
            return CP_ENOMEM;
        identified = 1;
    } else if (identified && sim_unit(&s->r) < 0.15) {
        if (!add(s, CP_KIND_IDENTIFY, landing, 0, 1500)) return CP_ENOMEM;
    }
    if (browse(s)) return CP_ENOMEM;
    return funnel(s, identified);
}

static double activity(const cp_sim_params *p, const sim_customer *c, int64_t day)
{
    const persona_params *pp = &personas[persona_on(c, day)];
    double a = pp->p_active * weekday_factor[cp_weekday(day)];
    if (pp->churns) {
        /* Activity fades from a customer-specific day in the first third of the window. */
        int64_t fade =
            p->start_day + (int64_t)(sim_hash(p->seed, 3, c->idx, 0) % (uint64_t)(p->days / 3 + 1));
        if (day > fade) a *= exp(-(double)(day - fade) / 4.0);
        if (day > fade + 12) a = 0;
    }
    return a;
}

/* Places the session's events (relative times from first) at start. */
static void place(sim_day *d, size_t first, int64_t start)
{
    for (size_t i = first; i < d->n; i++) d->ev[i].time_ms += start;
}

/* A session's start in the UTC day at day_ms: its hour by the daily curve of the customers'
 * local hour (UTC + utc_offset). */
static int64_t session_start(sim_rng *r, int64_t day_ms, int utc_offset)
{
    double w[24];
    for (int k = 0; k < 24; k++) w[k] = hour_weight[((k + utc_offset) % 24 + 24) % 24];
    int h = pick_weighted(sim_unit(r), w, sizeof(double), 24);
    int64_t min_ms = h == 0 ? 31 * CP_MS_PER_MIN : 0;
    return day_ms + h * CP_MS_PER_HOUR + min_ms +
           (int64_t)sim_below(r, (uint64_t)(CP_MS_PER_HOUR - min_ms));
}

int sim_customer_day(const cp_sim_params *p, const sim_catalog *cat, const sim_customer *c,
                     sim_day *d)
{
    int64_t day = d->day, day_ms = day * CP_MS_PER_DAY, day_end = day_ms + CP_MS_PER_DAY - 1000;
    sim_rng r = {sim_hash(p->seed, 4, c->idx, (uint64_t)day)};
    int identified = c->signup_day < day;
    int signup_today = c->signup_day == day;
    double a = activity(p, c, day);
    if (c->signup_day > day)
        a = c->signup_day - day <= 7 ? a * 0.5 : 0; /* browsing before sign-up */
    int n = signup_today || sim_unit(&r) < a;
    if (!n) return CP_OK;
    const persona_params *pp = &personas[persona_on(c, day)];
    while (n < 4 && sim_unit(&r) < pp->p_extra) n++;
    int64_t starts[4];
    for (int i = 0; i < n; i++) starts[i] = session_start(&r, day_ms, p->utc_offset);
    for (int i = 1; i < n; i++) /* sort the few start times */
        for (int j = i; j > 0 && starts[j] < starts[j - 1]; j--) {
            int64_t t = starts[j];
            starts[j] = starts[j - 1];
            starts[j - 1] = t;
        }
    int64_t prev_end = INT64_MIN / 2;
    for (int i = 0; i < n; i++) {
        session_ctx s = {.d = d,
                         .c = c,
                         .pp = pp,
                         .cat = cat,
                         .r = {sim_hash(p->seed, 5, c->idx, (uint64_t)day * 8 + (uint64_t)i)},
                         .first = d->n,
                         .session = (uint16_t)i};
        s.device = (uint8_t)(c->n_devices > 1 && sim_unit(&s.r) < 0.35);
        s.flags = (uint8_t)((identified ? EVF_USER : 0) |
                            ((signup_today && i == 0) || sim_unit(&s.r) < 0.3 ? EVF_CAMPAIGN : 0));
        if (session(&s, identified, signup_today && i == 0)) return CP_ENOMEM;
        int64_t start = starts[i];
        if (start < prev_end + p->session_timeout_ms + 60000)
            start = prev_end + p->session_timeout_ms + 60000;
        if (start + s.t > day_end) start = day_end - s.t; /* never cross midnight */
        if (start < day_ms + 31 * CP_MS_PER_MIN ||
            start < prev_end + p->session_timeout_ms + 60000) {
            d->n = s.first; /* no room left today */
            break;
        }
        place(d, s.first, start);
        prev_end = start + s.t;
        if (signup_today && i == 0) identified = 1;
    }
    return CP_OK;
}

int sim_bots_day(const cp_sim_params *p, sim_day *d)
{
    double want = p->bot_rate * (double)p->customers;
    sim_rng r = {sim_hash(p->seed, 6, (uint64_t)d->day, 0)};
    uint32_t n = (uint32_t)want + (sim_unit(&r) < want - floor(want));
    int64_t day_ms = d->day * CP_MS_PER_DAY;
    for (uint32_t b = 0; b < n; b++) {
        session_ctx s = {.d = d,
                         .r = {sim_hash(p->seed, 7, (uint64_t)d->day, b)},
                         .first = d->n,
                         .flags = EVF_BOT};
        int pages = 15 + (int)sim_below(&s.r, 46);
        for (int i = 0; i < pages; i++) {
            double u = sim_unit(&s.r);
            int type = u < 0.5   ? PAGE_PRODUCT
                       : u < 0.8 ? PAGE_CATEGORY
                       : u < 0.9 ? PAGE_BLOG
                                 : PAGE_HOME;
            uint32_t item = (uint32_t)sim_below(
                &s.r, type == PAGE_PRODUCT ? (uint64_t)p->products : (uint64_t)sim_n_categories);
            sim_ev *e =
                add(&s, CP_KIND_PAGE, type, item, i ? 700 + (int64_t)sim_below(&s.r, 2500) : 0);
            if (!e) return CP_ENOMEM;
            e->cust = b;
        }
        int64_t start = day_ms + 31 * CP_MS_PER_MIN +
                        (int64_t)sim_below(&s.r, (uint64_t)(CP_MS_PER_DAY - 2 * CP_MS_PER_HOUR));
        place(d, s.first, start);
    }
    return CP_OK;
}

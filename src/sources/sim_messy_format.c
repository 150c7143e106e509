/* How the messy profile's planted events look on the wire: Segment JSON like
 * sim_format.c writes, with what each case changes — amounts as strings, in
 * exponent form, with trailing zeros or at the edges of DECIMAL(18,2), other
 * currencies, refunds from the shop's server, user agents at the edges of bot
 * detection, lines without receivedAt, sentAt or messageId, "name" for "event",
 * members in another order. Planted events are a small share of the output, so
 * this is written for clarity (bounded writes, members assembled at the end)
 * rather than for sim_format.c's speed. */
#include "sim_internal.h"

#include "clickpulse/str.h"
#include "clickpulse/time.h"

#include <stdio.h>
#include <string.h>

#define SHOP_URL "https://shop.example.com"

typedef struct w {
    char *p, *end;
} w;

static void put(w *o, const char *s, size_t n)
{
    if ((size_t)(o->end - o->p) < n) n = (size_t)(o->end - o->p);
    memcpy(o->p, s, n);
    o->p += n;
}
#define PUT(o, s) put((o), (s), sizeof(s) - 1)
static void text(w *o, const char *s)
{
    put(o, s, strlen(s));
}
static void num(w *o, int64_t v)
{
    char b[24];
    put(o, b, cp_fmt_i64(b, v));
}
static void ts(w *o, int64_t ms)
{
    char b[40];
    PUT(o, "\"");
    put(o, b, cp_time_format(ms, b));
    PUT(o, "\"");
}
static void hex16(w *o, uint64_t v)
{
    static const char hexd[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) put(o, &hexd[(v >> (60 - 4 * i)) & 15], 1);
}
static void digits6(w *o, uint32_t v)
{
    char b[6];
    for (int i = 5; i >= 0; i--, v /= 10) b[i] = (char)('0' + v % 10);
    put(o, b, 6);
}

/* The planted actor: case, day of the window and instance. */
static uint64_t actor(const sim_ev *e)
{
    return (uint64_t)e->mess << 56 | (uint64_t)e->session << 32 | e->cust;
}

static uint32_t customer_of(const cp_sim_params *p, uint64_t k)
{
    return (uint32_t)(sim_hash(p->seed, 74, k, 0) % (uint64_t)p->customers);
}

/* ---- amounts ---- */

enum form { NUM, STR, EXP, TRAIL, TRAIL_STR };

/* How an event writes its amounts. */
typedef struct style {
    uint8_t revenue, total, value, shipping, price; /* enum form of each */
    uint8_t qty_str;                                /* quantities as strings */
    uint8_t decimals;                               /* 2, or 0 (JPY) */
    uint8_t shipping_rule;                          /* 4.99 under 50.00, else free */
    int rate;                                       /* minor units per 100 US cents */
    const char *currency;
    const char *edge; /* the text of every amount and price, when set */
} style;

static const char *const currencies[] = {"USD", "EUR", "GBP", "JPY", "XTS"};
static const int rates[] = {100, 92, 79, 152, 100};

/* CASE_AMOUNTS by variant, as written (sim_internal.h's M_AMT_* in this order). */
static const char *const edge_amounts[SIM_MESSY_N_EDGE_AMOUNTS] = {
    "0",    "\"0.00\"",  "-19.99", "\"-5.00\"", "\"9999999999999999.99\"", "4503599627370495.5",
    "1e16", "\"0.001\"", "12.345"};

static style style_of(const sim_ev *e)
{
    style s = {NUM, NUM, NUM, NUM, NUM, 0, 2, 1, 100, "USD", NULL};
    if (e->mess == CASE_NUMBERS) {
        static const style forms[4] = {
            {STR, STR, STR, STR, STR, 1, 2, 1, 100, "USD", NULL},
            {EXP, EXP, EXP, EXP, EXP, 0, 2, 1, 100, "USD", NULL},
            {TRAIL_STR, TRAIL_STR, TRAIL_STR, TRAIL_STR, TRAIL, 0, 2, 1, 100, "USD", NULL},
            {STR, EXP, TRAIL_STR, TRAIL, STR, 1, 2, 1, 100, "USD", NULL},
        };
        s = forms[e->mvar % 4];
    } else if (e->mess == CASE_CURRENCY) {
        s.currency = currencies[e->mvar % 5];
        s.rate = rates[e->mvar % 5];
        s.decimals = e->mvar == 3 ? 0 : 2;
        s.shipping_rule = 0;
    } else if (e->mess == CASE_AMOUNTS) {
        s.edge = edge_amounts[e->mvar % SIM_MESSY_N_EDGE_AMOUNTS];
        s.shipping_rule = 0;
    }
    return s;
}

static int64_t convert(const style *s, int64_t cents)
{
    return (cents * s->rate + 50) / 100;
}

/* v (in minor units) as d.ddde±x: 1999 cents is 1.999e1, 15000 is 1.5e2, 5 is 5e-2. */
static void exponent(w *o, int64_t v, int decimals)
{
    char dig[24];
    size_t n = cp_fmt_u64(dig, (uint64_t)(v < 0 ? -v : v)), last = n;
    if (v == 0) {
        PUT(o, "0");
        return;
    }
    while (last > 1 && dig[last - 1] == '0') last--;
    if (v < 0) PUT(o, "-");
    put(o, dig, 1);
    if (last > 1) {
        PUT(o, ".");
        put(o, dig + 1, last - 1);
    }
    PUT(o, "e");
    num(o, (int64_t)n - 1 - decimals);
}

static void money(w *o, const style *s, int form, int64_t v)
{
    if (s->edge) {
        text(o, s->edge);
        return;
    }
    char b[32];
    size_t n = s->decimals ? cp_fmt_cents(b, v) : cp_fmt_i64(b, v);
    if (form == EXP) {
        exponent(o, v, s->decimals);
        return;
    }
    if (form == STR || form == TRAIL_STR) PUT(o, "\"");
    put(o, b, n);
    if ((form == TRAIL || form == TRAIL_STR) && s->decimals) PUT(o, "0");
    if (form == STR || form == TRAIL_STR) PUT(o, "\"");
}

static void quantity(w *o, const style *s, unsigned q)
{
    if (s->qty_str) PUT(o, "\"");
    num(o, q);
    if (s->qty_str) PUT(o, "\"");
}

/* Subtotal (revenue) and shipping of an event's order lines, in the style's minor units. */
static void order_amounts(const sim_catalog *cat, const sim_day *d, const sim_ev *e, const style *s,
                          int64_t *revenue, int64_t *shipping)
{
    int64_t r = 0, cents = 0;
    for (unsigned i = 0; i < e->n_lines; i++) {
        const sim_line *l = &d->lines[e->lines_off + i];
        r += convert(s, cat->items[l->product].price_cents) * l->qty;
        cents += (int64_t)cat->items[l->product].price_cents * l->qty;
    }
    *revenue = r;
    *shipping = s->shipping_rule && cents < 5000 ? 499 : 0;
}

/* ---- properties ---- */

static void product_fields(w *o, const sim_catalog *cat, const style *s, uint32_t idx, unsigned qty)
{
    const sim_product *pr = &cat->items[idx];
    PUT(o, "\"product_id\":\"p");
    digits6(o, idx);
    PUT(o, "\",\"sku\":\"SKU-");
    digits6(o, idx);
    PUT(o, "\",\"name\":\"");
    text(o, sim_adjectives[pr->adjective]);
    PUT(o, " ");
    text(o, sim_nouns[pr->noun]);
    PUT(o, "\",\"category\":\"");
    text(o, sim_categories[pr->category]);
    PUT(o, "\",\"price\":");
    money(o, s, s->price, convert(s, pr->price_cents));
    PUT(o, ",\"quantity\":");
    quantity(o, s, qty);
}

static void products(w *o, const sim_catalog *cat, const sim_day *d, const sim_ev *e,
                     const style *s)
{
    PUT(o, ",\"products\":[");
    for (unsigned i = 0; i < e->n_lines; i++) {
        const sim_line *l = &d->lines[e->lines_off + i];
        text(o, i ? ",{" : "{");
        product_fields(o, cat, s, l->product, l->qty);
        PUT(o, "}");
    }
    PUT(o, "]");
}

static void order_id(w *o, const cp_sim_params *p, uint64_t k)
{
    PUT(o, "\"order_id\":\"ord_");
    hex16(o, sim_hash(p->seed, 75, k, 0));
    PUT(o, "\"");
}

static void currency(w *o, const style *s)
{
    PUT(o, ",\"currency\":\"");
    text(o, s->currency);
    PUT(o, "\"");
}

static void order_properties(w *o, const cp_sim_params *p, const sim_catalog *cat, const sim_day *d,
                             const sim_ev *e, uint64_t k)
{
    style s = style_of(e);
    int64_t revenue, shipping;
    order_amounts(cat, d, e, &s, &revenue, &shipping);
    order_id(o, p, k);
    switch (e->kind) {
    case CP_KIND_ORDER_COMPLETED:
        PUT(o, ",\"total\":");
        money(o, &s, s.total, revenue + shipping);
        PUT(o, ",\"revenue\":");
        money(o, &s, s.revenue, revenue);
        PUT(o, ",\"shipping\":");
        if (s.edge)
            PUT(o, "0");
        else
            money(o, &s, s.shipping, shipping);
        PUT(o, ",\"tax\":0,\"discount\":0");
        break;
    case CP_KIND_CHECKOUT_STARTED:
        PUT(o, ",\"value\":");
        money(o, &s, s.value, revenue);
        break;
    default: /* Order Refunded: whole by revenue or total, or by products */
        if (e->mvar == 0) {
            PUT(o, ",\"revenue\":");
            money(o, &s, NUM, revenue);
        } else if (e->mvar == 1) {
            PUT(o, ",\"total\":");
            money(o, &s, NUM, revenue + shipping);
        }
        currency(o, &s);
        if (e->mvar == 2) products(o, cat, d, e, &s);
        return;
    }
    currency(o, &s);
    products(o, cat, d, e, &s);
}

/* The page's title, as sim_format.c writes it. */
static void page_title(w *o, const sim_catalog *cat, const sim_ev *e)
{
    if (e->page_type == PAGE_PRODUCT) {
        const sim_product *pr = &cat->items[e->item];
        text(o, sim_adjectives[pr->adjective]);
        PUT(o, " ");
        text(o, sim_nouns[pr->noun]);
    } else if (e->page_type == PAGE_CATEGORY) {
        text(o, sim_categories[e->item % 10]);
    } else {
        text(o, sim_page_titles[e->page_type]);
    }
    PUT(o, " | Example Shop");
}

static void properties(w *o, const cp_sim_params *p, const sim_catalog *cat, const sim_day *d,
                       const sim_ev *e, uint64_t k, const char *path, size_t path_len)
{
    style s = style_of(e);
    PUT(o, "\"properties\":{");
    switch (e->kind) {
    case CP_KIND_PAGE:
        PUT(o, "\"path\":\"");
        put(o, path, path_len);
        PUT(o, "\",\"url\":\"" SHOP_URL);
        put(o, path, path_len);
        PUT(o, "\",\"title\":\"");
        page_title(o, cat, e);
        PUT(o, "\"");
        break;
    case CP_KIND_PRODUCT_VIEWED:
    case CP_KIND_PRODUCT_ADDED:
        product_fields(o, cat, &s, e->item, e->kind == CP_KIND_PRODUCT_VIEWED ? 1 : e->n_lines);
        currency(o, &s);
        break;
    case CP_KIND_CART_VIEWED:
        PUT(o, "\"cart_id\":\"s_");
        hex16(o, sim_hash(p->seed, 76, k, 0));
        PUT(o, "\"");
        break;
    default:
        order_properties(o, p, cat, d, e, k);
        break;
    }
    PUT(o, "}");
}

/* ---- identity and context ---- */

/* CASE_BOT_AGENT by variant: tools and crawlers, then browsers naming a bot-like word. */
static const char *const edge_agents[SIM_MESSY_N_EDGE_AGENTS] = {
    "Scrapy/2.11.0 (+https://scrapy.org)",
    "python-requests/2.31.0",
    "curl/8.4.0",
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "HeadlessChrome/120.0.0.0 Safari/537.36"),
    ("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/131.0.6778.139 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
     "+http://www.google.com/bot.html)"),
    ("Mozilla/5.0 (Linux; Android 13; Cubot KingKong 9) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 BotanicGardenKiosk/2.4"),
};

static int is_tool(const sim_ev *e)
{
    return e->mess == CASE_BOT_AGENT && e->mvar < SIM_MESSY_N_TOOL_AGENTS;
}

static const char *user_agent(const cp_sim_params *p, const sim_ev *e, uint64_t k)
{
    if (e->mess == CASE_BOT_AGENT) return edge_agents[e->mvar % SIM_MESSY_N_EDGE_AGENTS];
    if (e->mess == CASE_BOT_PACE) return sim_user_agent(DEV_DESKTOP, 0);
    uint64_t h = sim_hash(p->seed, 78, k, 0);
    return sim_user_agent((int)(h % 3), (uint32_t)(h >> 8));
}

static void context(w *o, const cp_sim_params *p, const sim_catalog *cat, const sim_ev *e,
                    uint64_t k, const sim_customer *c, const char *path, size_t path_len,
                    int in_batch)
{
    PUT(o, "\"context\":{");
    if (e->mflags & MF_SERVER) {
        PUT(o, "\"library\":{\"name\":\"analytics-node\",\"version\":\"6.2.0\"}}");
        return;
    }
    uint64_t h = sim_hash(p->seed, 77, k, 0);
    PUT(o, "\"ip\":\"");
    num(o, 51 + (int64_t)(h & 0x7F));
    PUT(o, ".");
    num(o, (int64_t)((h >> 8) & 0xFF));
    PUT(o, ".");
    num(o, (int64_t)((h >> 16) & 0xFF));
    PUT(o, ".");
    num(o, 1 + (int64_t)((h >> 24) % 254));
    PUT(o, "\",\"userAgent\":\"");
    text(o, user_agent(p, e, k));
    PUT(o, "\",\"locale\":\"");
    text(o, is_tool(e) ? "en-US" : sim_countries[c->country].locale);
    PUT(o, "\"");
    if (!in_batch) PUT(o, ",\"library\":{\"name\":\"analytics.js\",\"version\":\"5.2.1\"}");
    PUT(o, ",\"page\":{\"path\":\"");
    put(o, path, path_len);
    PUT(o, "\",\"url\":\"" SHOP_URL);
    put(o, path, path_len);
    PUT(o, "\",\"title\":\"");
    page_title(o, cat, e);
    PUT(o, "\",\"referrer\":\"");
    if (e->mev) PUT(o, SHOP_URL "/");
    PUT(o, "\"}");
    if (!is_tool(e)) {
        PUT(o, ",\"location\":{\"country\":\"");
        text(o, sim_countries[c->country].code);
        PUT(o, "\"},\"timezone\":\"");
        text(o, sim_countries[c->country].tz);
        PUT(o, "\"");
    }
    PUT(o, "}");
}

static void traits(w *o, const sim_customer *c)
{
    PUT(o, "\"traits\":{\"email\":\"");
    text(o, sim_first_names[2 * c->first_name + 1]);
    PUT(o, ".");
    text(o, sim_last_names[2 * c->last_name + 1]);
    num(o, c->email_number);
    PUT(o, "@");
    text(o, sim_email_domains[c->email_domain]);
    PUT(o, "\",\"name\":\"");
    text(o, sim_first_names[2 * c->first_name]);
    PUT(o, " ");
    text(o, sim_last_names[2 * c->last_name]);
    PUT(o, "\",\"country\":\"");
    text(o, sim_countries[c->country].code);
    PUT(o, "\",\"createdAt\":\"");
    char date[16];
    put(o, date, cp_date_format(c->signup_day, date));
    PUT(o, "\"}");
}

/* ---- the event ---- */

/* The event's top-level members, written one after the other and joined at the end in
 * their order or, with MF_REORDERED, the reverse one. */
typedef struct members {
    char tmp[SIM_MAX_EVENT_BYTES];
    w o;
    struct {
        size_t off, len;
    } m[12];
    int n;
    size_t at;
} members;

static void begin(members *ms)
{
    ms->at = (size_t)(ms->o.p - ms->tmp);
}
static void end(members *ms)
{
    ms->m[ms->n].off = ms->at;
    ms->m[ms->n].len = (size_t)(ms->o.p - ms->tmp) - ms->at;
    ms->n++;
}

static void identity(members *ms, const cp_sim_params *p, const sim_ev *e, uint64_t k,
                     uint32_t cust)
{
    char id[48];
    if (!(e->mflags & MF_NO_MESSAGE_ID)) {
        begin(ms);
        PUT(&ms->o, "\"messageId\":\"");
        put(&ms->o, id,
            sim_format_uuid(sim_hash(p->seed, 70, k, e->mev), sim_hash(p->seed, 71, k, e->mev),
                            id));
        PUT(&ms->o, "\"");
        end(ms);
    }
    if (!(e->mflags & MF_SERVER)) {
        begin(ms);
        PUT(&ms->o, "\"anonymousId\":\"");
        put(&ms->o, id,
            sim_format_uuid(sim_hash(p->seed, 72, k, 0), sim_hash(p->seed, 73, k, 0), id));
        PUT(&ms->o, "\"");
        end(ms);
    }
    if (e->flags & EVF_USER) {
        begin(ms);
        PUT(&ms->o, "\"userId\":\"");
        put(&ms->o, id, sim_format_customer_id(cust, id));
        PUT(&ms->o, "\"");
        end(ms);
    }
}

static void times(members *ms, const sim_ev *e)
{
    int64_t skew = e->mess == CASE_SKEW
                       ? (int64_t)sim_messy_skew_min[e->mvar % SIM_MESSY_N_SKEWS] * CP_MS_PER_MIN
                       : 0;
    begin(ms);
    PUT(&ms->o, "\"originalTimestamp\":");
    ts(&ms->o, e->time_ms + skew);
    end(ms);
    if (!(e->mflags & MF_NO_SENT_AT)) {
        begin(ms);
        PUT(&ms->o, "\"sentAt\":");
        ts(&ms->o, e->sent_ms + skew);
        end(ms);
    }
    if (!(e->mflags & MF_NO_RECEIVED_AT)) {
        begin(ms);
        PUT(&ms->o, "\"receivedAt\":");
        ts(&ms->o, e->recv_ms - e->mshift);
        end(ms);
    }
}

static void type_and_name(members *ms, const sim_ev *e)
{
    begin(ms);
    if (e->kind == CP_KIND_PAGE)
        PUT(&ms->o, "\"type\":\"page\"");
    else if (e->kind == CP_KIND_IDENTIFY)
        PUT(&ms->o, "\"type\":\"identify\"");
    else
        PUT(&ms->o, "\"type\":\"track\"");
    end(ms);
    if (e->kind == CP_KIND_PAGE || e->kind == CP_KIND_IDENTIFY) return;
    begin(ms);
    if (e->mflags & MF_NAME)
        PUT(&ms->o, "\"name\":\"");
    else
        PUT(&ms->o, "\"event\":\"");
    text(&ms->o, cp_event_kind_spec_name((cp_event_kind)e->kind));
    PUT(&ms->o, "\"");
    end(ms);
}

size_t sim_messy_format(const cp_sim_params *p, const sim_catalog *cat, const sim_day *d,
                        const sim_ev *e, int in_batch, char *buf)
{
    members ms;
    uint64_t k = actor(e);
    uint32_t cust = customer_of(p, k);
    sim_customer tmp;
    const sim_customer *c = sim_person(p, d, cust, &tmp);
    char path[64];
    size_t path_len = sim_format_page_path(cat, e, path);
    ms.o = (w){ms.tmp, ms.tmp + sizeof(ms.tmp)};
    ms.n = 0;
    type_and_name(&ms, e);
    identity(&ms, p, e, k, cust);
    if (e->kind != CP_KIND_IDENTIFY) {
        begin(&ms);
        properties(&ms.o, p, cat, d, e, k, path, path_len);
        end(&ms);
    } else {
        begin(&ms);
        traits(&ms.o, c);
        end(&ms);
    }
    begin(&ms);
    context(&ms.o, p, cat, e, k, c, path, path_len, in_batch && !(e->mflags & MF_SERVER));
    end(&ms);
    times(&ms, e);
    w out = {buf, buf + SIM_MAX_EVENT_BYTES};
    PUT(&out, "{");
    for (int i = 0; i < ms.n; i++) {
        int j = e->mflags & MF_REORDERED ? ms.n - 1 - i : i;
        if (i) PUT(&out, ",");
        put(&out, ms.tmp + ms.m[j].off, ms.m[j].len);
    }
    PUT(&out, "}");
    return (size_t)(out.p - buf);
}

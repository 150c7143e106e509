/* How simulated events look on the wire: Segment JSON as analytics.js sends it
 * (with receivedAt as a collector stamps it), planted bad lines, and CSV rows.
 * Hand-written formatting: this is the simulator's hot path. The tables'
 * texts hold no characters that JSON or CSV would need escaped. */
#include "sim_internal.h"

#include "clickpulse/time.h"

#include <string.h>

#define SHOP_URL "https://shop.example.com"

typedef struct out {
    char *p;
} out;

static inline void lit(out *o, const char *s, size_t n)
{
    memcpy(o->p, s, n);
    o->p += n;
}
#define LIT(o, s) lit((o), (s), sizeof(s) - 1)
static inline void str(out *o, const char *s)
{
    lit(o, s, strlen(s));
}
static inline void u64(out *o, uint64_t v)
{
    o->p += cp_fmt_u64(o->p, v);
}
static inline void cents(out *o, int64_t v)
{
    o->p += cp_fmt_cents(o->p, v);
}
/* The last formatted day, so that an event's three timestamps share one civil-date step. */
typedef struct day_cache {
    int64_t day;
    char date[10];
} day_cache;

static inline void ts_cached(out *o, int64_t ms, day_cache *dc)
{
    int64_t day = cp_day_of(ms);
    *o->p++ = '"';
    if (day != dc->day) {
        cp_date_format(day, dc->date);
        dc->day = day;
    }
    memcpy(o->p, dc->date, 10);
    char *c = o->p + 10;
    unsigned rem = (unsigned)(ms - day * CP_MS_PER_DAY), s = rem / 1000, f = rem % 1000;
    unsigned h = s / 3600, m = s / 60 % 60, sec = s % 60;
    c[0] = 'T';
    c[1] = (char)('0' + h / 10), c[2] = (char)('0' + h % 10), c[3] = ':';
    c[4] = (char)('0' + m / 10), c[5] = (char)('0' + m % 10), c[6] = ':';
    c[7] = (char)('0' + sec / 10), c[8] = (char)('0' + sec % 10), c[9] = '.';
    c[10] = (char)('0' + f / 100), c[11] = (char)('0' + f / 10 % 10), c[12] = (char)('0' + f % 10);
    c[13] = 'Z';
    o->p += 24;
    *o->p++ = '"';
}

static inline void ts(out *o, int64_t ms)
{
    *o->p++ = '"';
    o->p += cp_time_format(ms, o->p);
    *o->p++ = '"';
}

static const char hexd[] = "0123456789abcdef";

static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/* Writes the bytes of v, most significant first, from byte index `from` to `to`. */
static char *hex_bytes(char *o, uint64_t v, int from, int to)
{
    for (int i = from; i < to; i++, o += 2)
        memcpy(o, hex_pairs + 2 * ((v >> (56 - 8 * i)) & 0xFF), 2);
    return o;
}

size_t sim_format_uuid(uint64_t a, uint64_t b, char *o)
{
    a = (a & ~0xF000ULL) | 0x4000ULL;                        /* version 4 */
    b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL; /* variant 1 */
    char *w = hex_bytes(o, a, 0, 4);
    *w++ = '-';
    w = hex_bytes(w, a, 4, 6);
    *w++ = '-';
    w = hex_bytes(w, a, 6, 8);
    *w++ = '-';
    w = hex_bytes(w, b, 0, 2);
    *w++ = '-';
    w = hex_bytes(w, b, 2, 8);
    return (size_t)(w - o);
}

static size_t hex16(uint64_t v, char *o)
{
    for (int i = 0; i < 16; i++) o[i] = hexd[(v >> (60 - 4 * i)) & 15];
    return 16;
}

size_t sim_format_customer_id(uint32_t idx, char *o)
{
    memcpy(o, "cus_", 4);
    for (int i = 12; i >= 4; i--) {
        o[i] = (char)('0' + idx % 10);
        idx /= 10;
    }
    return 13;
}

static uint64_t ident_key(const sim_ev *e)
{
    return (e->flags & EVF_BOT ? 1ULL << 40 : 0) | e->cust;
}

size_t sim_format_anonymous_id(const cp_sim_params *p, const sim_ev *e, char *o)
{
    uint64_t k = ident_key(e);
    uint64_t extra = e->flags & EVF_BOT ? (uint64_t)cp_day_of(e->time_ms) : e->device;
    return sim_format_uuid(sim_hash(p->seed, 20, k, extra), sim_hash(p->seed, 21, k, extra), o);
}

static uint64_t session_key(const sim_ev *e)
{
    return (uint64_t)cp_day_of(e->time_ms) * 16 + e->session;
}

size_t sim_format_session_id(const cp_sim_params *p, const sim_ev *e, char *o)
{
    memcpy(o, "s_", 2);
    return 2 + hex16(sim_hash(p->seed, 22, ident_key(e), session_key(e)), o + 2);
}

static size_t message_id(const cp_sim_params *p, const sim_ev *e, uint64_t salt, char *o)
{
    uint64_t k = ident_key(e), s = session_key(e) * 256 + e->ev_idx;
    return sim_format_uuid(sim_hash(p->seed, 23 + salt, k, s), sim_hash(p->seed, 25 + salt, k, s),
                           o);
}

static size_t order_id(const cp_sim_params *p, const sim_ev *e, char *o)
{
    memcpy(o, "ord_", 4);
    return 4 + hex16(sim_hash(p->seed, 27, e->cust, session_key(e)), o + 4);
}

static size_t digits6(uint32_t idx, char *o)
{
    for (int i = 5; i >= 0; i--) {
        o[i] = (char)('0' + idx % 10);
        idx /= 10;
    }
    return 6;
}

static size_t product_code(uint32_t idx, char *o)
{
    o[0] = 'p';
    return 1 + digits6(idx, o + 1);
}

static const char *const category_slugs[] = {"electronics", "clothing", "home-kitchen", "beauty",
                                             "sports",      "books",    "toys",         "grocery",
                                             "garden",      "shoes"};

size_t sim_format_page_path(const sim_catalog *cat, const sim_ev *e, char *buf)
{
    out o = {buf};
    switch (e->page_type) {
    case PAGE_HOME:
        LIT(&o, "/");
        break;
    case PAGE_CATEGORY:
        LIT(&o, "/category/");
        str(&o, category_slugs[e->item % 10]);
        break;
    case PAGE_PRODUCT:
        LIT(&o, "/product/");
        o.p += product_code(e->item, o.p);
        break;
    case PAGE_CART:
        LIT(&o, "/cart");
        break;
    case PAGE_CHECKOUT:
        LIT(&o, "/checkout");
        break;
    case PAGE_CONFIRM:
        LIT(&o, "/checkout/confirmation");
        break;
    case PAGE_SIGNUP:
        LIT(&o, "/signup");
        break;
    case PAGE_SEARCH:
        LIT(&o, "/search");
        break;
    case PAGE_BLOG:
        LIT(&o, "/blog/post-");
        u64(&o, e->item + 1);
        break;
    default:
        LIT(&o, "/sale");
        break;
    }
    (void)cat;
    return (size_t)(o.p - buf);
}

const char *const sim_page_titles[] = {"Home",
                                       "",
                                       "",
                                       "Your cart",
                                       "Checkout",
                                       "Thank you for your order",
                                       "Create your account",
                                       "Search results",
                                       "Journal",
                                       "Sale"};

static void page_title(out *o, const sim_catalog *cat, const sim_ev *e)
{
    if (e->page_type == PAGE_PRODUCT) {
        const sim_product *pr = &cat->items[e->item];
        str(o, sim_adjectives[pr->adjective]);
        *o->p++ = ' ';
        str(o, sim_nouns[pr->noun]);
    } else if (e->page_type == PAGE_CATEGORY) {
        str(o, sim_categories[e->item % 10]);
    } else {
        str(o, sim_page_titles[e->page_type]);
    }
    LIT(o, " | Example Shop");
}

static void product_fields(out *o, const sim_catalog *cat, uint32_t idx, unsigned qty)
{
    const sim_product *pr = &cat->items[idx];
    LIT(o, "\"product_id\":\"");
    o->p += product_code(idx, o->p);
    LIT(o, "\",\"sku\":\"SKU-");
    o->p += digits6(idx, o->p);
    LIT(o, "\",\"name\":\"");
    str(o, sim_adjectives[pr->adjective]);
    *o->p++ = ' ';
    str(o, sim_nouns[pr->noun]);
    LIT(o, "\",\"category\":\"");
    str(o, sim_categories[pr->category]);
    LIT(o, "\",\"price\":");
    cents(o, pr->price_cents);
    LIT(o, ",\"quantity\":");
    u64(o, qty);
}

/* Order amounts, in cents: subtotal (revenue), shipping and total. */
static void order_amounts(const sim_catalog *cat, const sim_day *d, const sim_ev *e,
                          int64_t *revenue, int64_t *shipping)
{
    int64_t r = 0;
    for (unsigned i = 0; i < e->n_lines; i++) {
        const sim_line *l = &d->lines[e->lines_off + i];
        r += (int64_t)cat->items[l->product].price_cents * l->qty;
    }
    *revenue = r;
    *shipping = r >= 5000 ? 0 : 499;
}

static void order_properties(out *o, const cp_sim_params *p, const sim_catalog *cat,
                             const sim_day *d, const sim_ev *e)
{
    int64_t revenue, shipping;
    order_amounts(cat, d, e, &revenue, &shipping);
    LIT(o, "\"order_id\":\"");
    o->p += order_id(p, e, o->p);
    if (e->kind == CP_KIND_ORDER_COMPLETED) {
        LIT(o, "\",\"total\":");
        cents(o, revenue + shipping);
        LIT(o, ",\"revenue\":");
        cents(o, revenue);
        LIT(o, ",\"shipping\":");
        cents(o, shipping);
        LIT(o, ",\"tax\":0,\"discount\":0");
    } else {
        LIT(o, "\",\"value\":");
        cents(o, revenue);
    }
    LIT(o, ",\"currency\":\"USD\",\"products\":[");
    for (unsigned i = 0; i < e->n_lines; i++) {
        const sim_line *l = &d->lines[e->lines_off + i];
        str(o, i ? ",{" : "{");
        product_fields(o, cat, l->product, l->qty);
        *o->p++ = '}';
    }
    *o->p++ = ']';
}

static void ip_address(out *o, uint64_t h)
{
    u64(o, 51 + (h & 0x7F)); /* 51..178: public unicast ranges */
    *o->p++ = '.';
    u64(o, (h >> 8) & 0xFF);
    *o->p++ = '.';
    u64(o, (h >> 16) & 0xFF);
    *o->p++ = '.';
    u64(o, 1 + ((h >> 24) % 254));
}

static void identity(out *o, const cp_sim_params *p, const sim_ev *e, uint64_t salt)
{
    LIT(o, "\"messageId\":\"");
    o->p += message_id(p, e, salt, o->p);
    LIT(o, "\",\"anonymousId\":\"");
    o->p += sim_format_anonymous_id(p, e, o->p);
    *o->p++ = '"';
    if (e->flags & EVF_USER) {
        LIT(o, ",\"userId\":\"");
        o->p += sim_format_customer_id(e->cust, o->p);
        *o->p++ = '"';
    }
}

static void type_and_name(out *o, const sim_ev *e)
{
    switch (e->kind) {
    case CP_KIND_PAGE:
        LIT(o, "{\"type\":\"page\",");
        break;
    case CP_KIND_IDENTIFY:
        LIT(o, "{\"type\":\"identify\",");
        break;
    default:
        LIT(o, "{\"type\":\"track\",\"event\":\"");
        str(o, cp_event_kind_spec_name((cp_event_kind)e->kind));
        LIT(o, "\",");
    }
}

static void properties(out *o, const cp_sim_params *p, const sim_catalog *cat, const sim_day *d,
                       const sim_ev *e, const char *path, size_t path_len)
{
    switch (e->kind) {
    case CP_KIND_PAGE:
        LIT(o, ",\"properties\":{\"path\":\"");
        lit(o, path, path_len);
        LIT(o, "\",\"url\":\"" SHOP_URL);
        lit(o, path, path_len);
        LIT(o, "\",\"title\":\"");
        page_title(o, cat, e);
        LIT(o, "\"}");
        break;
    case CP_KIND_PRODUCT_VIEWED:
    case CP_KIND_PRODUCT_ADDED:
    case CP_KIND_PRODUCT_REMOVED:
        LIT(o, ",\"properties\":{");
        product_fields(o, cat, e->item, e->kind == CP_KIND_PRODUCT_VIEWED ? 1 : e->n_lines);
        LIT(o, ",\"currency\":\"USD\"}");
        break;
    case CP_KIND_CHECKOUT_STARTED:
    case CP_KIND_ORDER_COMPLETED:
        LIT(o, ",\"properties\":{");
        order_properties(o, p, cat, d, e);
        *o->p++ = '}';
        break;
    case CP_KIND_CART_VIEWED:
        LIT(o, ",\"properties\":{\"cart_id\":\"");
        o->p += sim_format_session_id(p, e, o->p);
        LIT(o, "\"}");
        break;
    case CP_KIND_SIGNED_UP:
        LIT(o, ",\"properties\":{\"method\":\"email\"}");
        break;
    default:
        break;
    }
}

static void traits(out *o, const cp_sim_params *p, const sim_day *d, const sim_ev *e)
{
    sim_customer tmp;
    const sim_customer c = *sim_person(p, d, e->cust, &tmp);
    LIT(o, ",\"traits\":{\"email\":\"");
    str(o, sim_first_names[2 * c.first_name + 1]);
    *o->p++ = '.';
    str(o, sim_last_names[2 * c.last_name + 1]);
    u64(o, c.email_number);
    *o->p++ = '@';
    str(o, sim_email_domains[c.email_domain]);
    LIT(o, "\",\"name\":\"");
    str(o, sim_first_names[2 * c.first_name]);
    *o->p++ = ' ';
    str(o, sim_last_names[2 * c.last_name]);
    LIT(o, "\",\"country\":\"");
    str(o, sim_countries[c.country].code);
    LIT(o, "\",\"createdAt\":\"");
    o->p += cp_date_format(c.signup_day, o->p);
    LIT(o, "\"}");
}

static void context(out *o, const cp_sim_params *p, const sim_catalog *cat, const sim_ev *e,
                    const sim_customer *c, const char *path, size_t path_len, int in_batch)
{
    int bot = e->flags & EVF_BOT;
    LIT(o, ",\"context\":{\"ip\":\"");
    ip_address(o, sim_hash(p->seed, 30, ident_key(e), bot ? 0 : e->device));
    LIT(o, "\",\"userAgent\":\"");
    str(o, bot ? sim_bot_agents[e->cust % (uint32_t)sim_n_bot_agents]
               : sim_user_agent(c->device_kind[e->device], c->ua_variant[e->device]));
    LIT(o, "\",\"locale\":\"");
    str(o, bot ? "en-US" : sim_countries[c->country].locale);
    if (!in_batch)
        LIT(o, "\",\"library\":{\"name\":\"analytics.js\",\"version\":\"5.2.1\"}");
    else
        *o->p++ = '"';
    LIT(o, ",\"page\":{\"path\":\"");
    lit(o, path, path_len);
    LIT(o, "\",\"url\":\"" SHOP_URL);
    lit(o, path, path_len);
    LIT(o, "\",\"title\":\"");
    page_title(o, cat, e);
    LIT(o, "\",\"referrer\":\"");
    if (e->ev_idx == 0 && (e->flags & EVF_CAMPAIGN))
        str(o, sim_sources[c->source].referrer);
    else if (e->ev_idx)
        LIT(o, SHOP_URL "/");
    LIT(o, "\"}");
    if ((e->flags & EVF_CAMPAIGN) && sim_sources[c->source].campaign[0]) {
        LIT(o, ",\"campaign\":{\"source\":\"");
        str(o, sim_sources[c->source].source);
        LIT(o, "\",\"medium\":\"");
        str(o, sim_sources[c->source].medium);
        LIT(o, "\",\"name\":\"");
        str(o, sim_sources[c->source].campaign);
        LIT(o, "\"}");
    }
    if (!bot) {
        LIT(o, ",\"location\":{\"country\":\"");
        str(o, sim_countries[c->country].code);
        LIT(o, "\"},\"timezone\":\"");
        str(o, sim_countries[c->country].tz);
        *o->p++ = '"';
    }
    *o->p++ = '}';
}

/* The client's clock error for this event, in ms. */
static int64_t skew_ms(const sim_ev *e, const sim_customer *c)
{
    return e->flags & EVF_BOT ? 0 : (int64_t)c->skew_min[e->device] * CP_MS_PER_MIN;
}

static void times(out *o, const sim_ev *e, int64_t skew)
{
    day_cache dc = {INT64_MIN, {0}};
    LIT(o, ",\"originalTimestamp\":");
    ts_cached(o, e->time_ms + skew, &dc);
    LIT(o, ",\"sentAt\":");
    ts_cached(o, e->sent_ms + skew, &dc);
    LIT(o, ",\"receivedAt\":");
    ts_cached(o, e->recv_ms, &dc);
}

/* For large_rate of the events with properties: a "note" of 1 to 20 KB of words, the
 * same for the same event whatever else changes (drawn from its own hash). */
static void large_note(out *o, const cp_sim_params *p, const sim_ev *e)
{
    static const char *const words[] = {"gift",  "wrap",    "please", "deliver", "after",
                                        "six",   "morning", "door",   "code",    "blue",
                                        "house", "corner",  "thank",  "you",     "again"};
    uint64_t h = sim_hash(p->seed, 40, (uint64_t)e->recv_ms, e->seq);
    if (p->large_rate <= 0 || sim_hash_unit(h) >= p->large_rate || o->p[-1] != '}') return;
    size_t want = 1024 + sim_mix(h) % (SIM_MAX_NOTE_BYTES - 1024 - 16);
    o->p--; /* into the properties object */
    LIT(o, ",\"note\":\"");
    char *start = o->p;
    for (uint64_t k = 0; (size_t)(o->p - start) < want; k++) {
        const char *w = words[sim_hash(p->seed, 41, h, k) % (sizeof(words) / sizeof(*words))];
        size_t n = strlen(w);
        if (k) *o->p++ = ' ';
        memcpy(o->p, w, n);
        o->p += n;
    }
    LIT(o, "\"}");
}

size_t sim_format_event(const cp_sim_params *p, const sim_catalog *cat, const sim_day *d,
                        const sim_ev *e, int in_batch, char *buf)
{
    out o = {buf};
    sim_customer tmp;
    static const sim_customer nobody;
    char path[64];
    size_t path_len = sim_format_page_path(cat, e, path);
    const sim_customer *cp = e->flags & EVF_BOT ? &nobody : sim_person(p, d, e->cust, &tmp);
    const sim_customer c = *cp;
    type_and_name(&o, e);
    identity(&o, p, e, 0);
    char *props = o.p;
    properties(&o, p, cat, d, e, path, path_len);
    if (o.p != props) large_note(&o, p, e);
    if (e->kind == CP_KIND_IDENTIFY) traits(&o, p, d, e);
    context(&o, p, cat, e, &c, path, path_len, in_batch);
    times(&o, e, skew_ms(e, &c));
    *o.p++ = '}';
    return (size_t)(o.p - buf);
}

size_t sim_format_broken(const cp_sim_params *p, const sim_catalog *cat, const sim_day *d,
                         const sim_ev *e, char *buf)
{
    out o = {buf};
    sim_customer tmp;
    static const sim_customer nobody;
    char path[64];
    size_t path_len = sim_format_page_path(cat, e, path);
    const sim_customer *cp = e->flags & EVF_BOT ? &nobody : sim_person(p, d, e->cust, &tmp);
    const sim_customer c = *cp;
    cp_reject_reason why = (cp_reject_reason)(e->broken - 1);
    type_and_name(&o, e);
    if (why == CP_REJECT_MISSING_IDENTITY) {
        LIT(&o, "\"messageId\":\"");
        o.p += message_id(p, e, 1, o.p);
        *o.p++ = '"';
    } else {
        identity(&o, p, e, 1);
    }
    if (why == CP_REJECT_WRONG_TYPE) {
        LIT(&o, ",\"properties\":{\"revenue\":{\"amount\":12.5},\"currency\":\"USD\"}");
    } else {
        properties(&o, p, cat, d, e, path, path_len);
    }
    context(&o, p, cat, e, &c, path, path_len, 0);
    if (why == CP_REJECT_INVALID_UTF8) {
        o.p -= 1; /* reopen the context object */
        LIT(&o, ",\"campaign\":{\"content\":\"caf\xC3\x28\"}}");
    }
    if (why == CP_REJECT_BAD_TIMESTAMP) {
        LIT(&o, ",\"originalTimestamp\":\"2026-13-45T99:00:00Z\",\"sentAt\":");
        ts(&o, e->sent_ms);
    } else {
        times(&o, e, skew_ms(e, &c));
    }
    *o.p++ = '}';
    size_t n = (size_t)(o.p - buf);
    if (why == CP_REJECT_NOT_JSON) {
        /* Cut the line short at a place chosen by the hash, never inside a UTF-8 sequence. */
        size_t cut = 20 + (size_t)(sim_hash(p->seed, 31, e->seq, 0) % (n - 40));
        while (cut > 1 && ((unsigned char)buf[cut] & 0xC0) == 0x80) cut--;
        n = cut;
    }
    return n;
}

size_t sim_format_customer_csv(const cp_sim_params *p, const sim_customer *c, char *buf)
{
    out o = {buf};
    (void)p;
    o.p += sim_format_customer_id(c->idx, o.p);
    *o.p++ = ',';
    str(&o, sim_first_names[2 * c->first_name]);
    *o.p++ = ' ';
    str(&o, sim_last_names[2 * c->last_name]);
    *o.p++ = ',';
    str(&o, sim_first_names[2 * c->first_name + 1]);
    *o.p++ = '.';
    str(&o, sim_last_names[2 * c->last_name + 1]);
    u64(&o, c->email_number);
    *o.p++ = '@';
    str(&o, sim_email_domains[c->email_domain]);
    *o.p++ = ',';
    str(&o, sim_countries[c->country].code);
    *o.p++ = ',';
    o.p += cp_date_format(c->signup_day, o.p);
    *o.p++ = '\n';
    return (size_t)(o.p - buf);
}

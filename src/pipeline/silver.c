/* Silver rows from an accepted event: the events row with its enrichment
 * (identity key, device, browser, OS, bot flag, UTM fields, country, e-mail
 * domain), and for orders the orders and order_items rows. */
#include "internal.h"
#include "pipeline_state.h"

#include "clickpulse/error.h"
#include "clickpulse/log.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

uint64_t hash_message(cp_slice message_id)
{
    return XXH3_64bits(message_id.ptr, message_id.len) | 1;
}

uint64_t hash_delivery(cp_slice source, cp_slice at)
{
    return XXH3_64bits_withSeed(at.ptr, at.len, XXH3_64bits(source.ptr, source.len));
}

/* The value of query parameter name in url (raw, not percent-decoded). */
static cp_slice query_param(cp_slice url, const char *name)
{
    const char *q = url.len ? memchr(url.ptr, '?', url.len) : NULL, *end = url.ptr + url.len;
    size_t n = strlen(name);
    while (q && q < end) {
        q++;
        const char *amp = memchr(q, '&', (size_t)(end - q)), *stop = amp ? amp : end;
        if ((size_t)(stop - q) > n && memcmp(q, name, n) == 0 && q[n] == '=')
            return (cp_slice){q + n + 1, (size_t)(stop - q - n - 1)};
        q = amp;
    }
    return CP_SLICE_NULL;
}

static cp_slice first_set(cp_slice a, cp_slice b)
{
    return a.len ? a : b.len ? b : CP_SLICE_NULL;
}

/* User agents repeat: parse each distinct one once (a small direct-mapped cache). */
static void ua_cached(silver_ctx *s, cp_slice ua, cp_ua_info *out)
{
    uint64_t h = XXH3_64bits(ua.ptr, ua.len) | 1;
    ua_slot *slot = &s->ua_cache[h % UA_CACHE];
    if (slot->hash != h) {
        slot->hash = h;
        cp_ua_parse(ua, &slot->info);
    }
    *out = slot->info;
}

static cp_slice lit(const char *s)
{
    return cp_slice_from(s);
}

static uint64_t order_hash(cp_slice order_id)
{
    return XXH3_64bits(order_id.ptr, order_id.len) | 1;
}

static void order_put(uint64_t *slots, size_t cap, uint64_t h)
{
    size_t i = h & (cap - 1);
    while (slots[i] && slots[i] != h) i = (i + 1) & (cap - 1);
    slots[i] = h;
}

/* Adds order_id; returns 1 when it was new, 0 when silver holds it, -1 out of memory. */
static int order_new(silver_ctx *s, cp_slice order_id)
{
    uint64_t h = order_hash(order_id);
    if (s->order_ids_n + 1 > s->order_ids_cap / 2) {
        size_t cap = s->order_ids_cap ? s->order_ids_cap * 2 : 4096;
        uint64_t *t = cp_calloc(cap, sizeof(*t));
        if (!t) return -1;
        for (size_t i = 0; i < s->order_ids_cap; i++)
            if (s->order_ids[i]) order_put(t, cap, s->order_ids[i]);
        cp_free(s->order_ids);
        s->order_ids = t, s->order_ids_cap = cap;
    }
    size_t i = h & (s->order_ids_cap - 1);
    for (; s->order_ids[i]; i = (i + 1) & (s->order_ids_cap - 1))
        if (s->order_ids[i] == h) return 0;
    s->order_ids[i] = h;
    s->order_ids_n++;
    return 1;
}

static int load_order(void *ud, const cp_slice *cols, size_t n)
{
    (void)n;
    return cols[0].ptr && order_new(ud, cols[0]) < 0 ? CP_ENOMEM : CP_OK;
}

void silver_orders_free(silver_ctx *s)
{
    cp_free(s->order_ids);
    s->order_ids = NULL;
    s->order_ids_cap = s->order_ids_n = 0;
}

int silver_orders_load(silver_ctx *s)
{
    char err[256];
    silver_orders_free(s);
    int rc = cp_store_read_rows(s->store, "SELECT order_id FROM orders", load_order, s, err,
                                sizeof(err));
    if (rc) CP_ERROR("pipeline", "loading silver's order ids: %s", err);
    return rc;
}

/* An order's or a refund's amount: revenue, else total, else Σ price × quantity of its
 * products (validated: within the bounds). */
static cp_money amount_of(const cp_event *ev)
{
    if (ev->flags & CP_HAS_REVENUE) return ev->revenue;
    if (ev->flags & CP_HAS_TOTAL) return ev->total;
    cp_money sum = 0;
    for (uint32_t i = 0; i < ev->n_products; i++)
        if (ev->products[i].has_price) sum += ev->products[i].price * ev->products[i].quantity;
    return sum;
}

static int write_refund(silver_ctx *s, const cp_event *ev, int64_t offset, cp_slice country)
{
    cp_silver_order r = {.offset = offset,
                         .order_id = ev->order_id,
                         .message_id = ev->message_id,
                         .user_id = ev->user_id.len ? ev->user_id : CP_SLICE_NULL,
                         .anonymous_id = ev->anonymous_id.len ? ev->anonymous_id : CP_SLICE_NULL,
                         .currency = first_set(ev->currency, CP_SLICE_NULL),
                         .country = country,
                         .event_time_ms = ev->time_ms,
                         .revenue = amount_of(ev),
                         .items = (int32_t)ev->n_products};
    for (uint32_t i = 0; i < ev->n_products; i++) r.units += ev->products[i].quantity;
    return cp_store_add_refund(s->store, &r);
}

typedef struct silver_rate {
    char currency[4];
    int32_t day;
    int64_t e8;
} silver_rate;

static int load_rate(void *ud, const cp_slice *cols, size_t n)
{
    silver_ctx *s = ud;
    (void)n;
    if (!cols[0].ptr || cols[0].len != 3 || !cols[1].ptr || !cols[2].ptr) return CP_OK;
    if (cp_grow((void **)&s->rates, &s->cap_rates, s->n_rates + 1, sizeof(*s->rates)))
        return CP_ENOMEM;
    silver_rate *r = &s->rates[s->n_rates++];
    memcpy(r->currency, cols[0].ptr, 3);
    r->currency[3] = 0;
    r->day = (int32_t)strtol(cols[1].ptr, NULL, 10);
    r->e8 = strtoll(cols[2].ptr, NULL, 10);
    return CP_OK;
}

static int load_reporting(void *ud, const cp_slice *cols, size_t n)
{
    silver_ctx *s = ud;
    (void)n;
    if (cols[0].ptr && cols[0].len == 3) memcpy(s->reporting, cols[0].ptr, 3);
    return CP_OK;
}

void silver_rates_free(silver_ctx *s)
{
    cp_free(s->rates);
    s->rates = NULL;
    s->n_rates = s->cap_rates = 0;
}

int silver_rates_load(silver_ctx *s)
{
    char err[256];
    silver_rates_free(s);
    int rc = cp_store_read_rows(s->store,
                                "SELECT currency, CAST(day - DATE '1970-01-01' AS VARCHAR),"
                                " CAST(CAST(rate * 100000000 AS BIGINT) AS VARCHAR)"
                                " FROM currency_rates_in_use ORDER BY currency, day",
                                load_rate, s, err, sizeof(err));
    memcpy(s->reporting, "USD", 4);
    if (rc == CP_OK)
        rc = cp_store_read_rows(s->store, "SELECT code FROM currency_reporting", load_reporting, s,
                                err, sizeof(err));
    if (rc) CP_ERROR("pipeline", "loading the exchange rates: %s", err);
    return rc;
}

/* The rate of currency (none: the reporting one) on the day of ms: the latest dated on or
 * before it; 0 when there is none. */
static int64_t rate_of(const silver_ctx *s, cp_slice currency, int64_t ms)
{
    char cur[4];
    if (currency.len == 3)
        memcpy(cur, currency.ptr, 3);
    else if (s->n_rates)
        memcpy(cur, s->reporting, 3);
    else
        return 100000000; /* no rates loaded: amounts as they are */
    cur[3] = 0;
    int32_t day = (int32_t)cp_day_of(ms);
    int64_t e8 = 0;
    for (size_t i = 0; i < s->n_rates; i++) /* a few dozen rows: by currency, then day */
        if (memcmp(s->rates[i].currency, cur, 3) == 0 && s->rates[i].day <= day)
            e8 = s->rates[i].e8;
    return e8;
}

static int write_order(silver_ctx *s, const cp_event *ev, int64_t offset, cp_slice country)
{
    cp_silver_order o = {.offset = offset,
                         .order_id = ev->order_id,
                         .message_id = ev->message_id,
                         .user_id = ev->user_id,
                         .anonymous_id = ev->anonymous_id,
                         .currency = ev->currency,
                         .country = country,
                         .event_time_ms = ev->time_ms,
                         .revenue = ev->revenue,
                         .total = ev->total,
                         .has_total = (ev->flags & CP_HAS_TOTAL) != 0,
                         .items = (int32_t)ev->n_products};
    o.revenue = amount_of(ev);
    for (uint32_t i = 0; i < ev->n_products; i++) o.units += ev->products[i].quantity;
    int rc = cp_store_add_order(s->store, &o);
    for (uint32_t i = 0; i < ev->n_products && !rc; i++) {
        const cp_product *p = &ev->products[i];
        cp_silver_item it = {.offset = offset,
                             .order_id = ev->order_id,
                             .line = (int32_t)i + 1,
                             .product_id = p->product_id,
                             .sku = p->sku,
                             .name = p->name,
                             .category = p->category,
                             .price = p->price,
                             .has_price = p->has_price,
                             .quantity = p->quantity};
        rc = cp_store_add_item(s->store, &it);
    }
    return rc;
}

cp_session_event session_event_of(const cp_silver_event *r)
{
    return (cp_session_event){.identity = r->identity,
                              .user_id = r->user_id,
                              .session_id = r->session_id,
                              .kind = r->kind,
                              .page_path = r->page_path,
                              .utm_source = r->utm_source,
                              .utm_medium = r->utm_medium,
                              .utm_campaign = r->utm_campaign,
                              .country = r->country,
                              .device_type = r->device_type,
                              .time_ms = r->event_time_ms,
                              .offset = r->offset,
                              .is_bot = r->is_bot};
}

int silver_write(silver_ctx *s, const cp_event *ev, int64_t offset, uint64_t msg_hash,
                 uint64_t delivery_hash, cp_slice source, bool late)
{
    cp_ua_info ua;
    ua_cached(s, ev->ctx.user_agent, &ua);
    cp_slice url = ev->ctx.page_url,
             country = cp_country(ev->ctx.country, ev->ctx.locale, s->country);
    cp_silver_event r = {
        .offset = offset,
        .msg_hash = msg_hash,
        .delivery_hash = delivery_hash,
        .message_id = ev->message_id,
        .type = lit(cp_event_type_name(ev->type)),
        .kind = lit(cp_event_kind_name(ev->kind)),
        .event_name = ev->event_name,
        .user_id = ev->user_id.len ? ev->user_id : CP_SLICE_NULL,
        .anonymous_id = ev->anonymous_id.len ? ev->anonymous_id : CP_SLICE_NULL,
        .identity = ev->anonymous_id.len ? ev->anonymous_id : ev->user_id,
        .session_id = first_set(ev->session_id, ev->ctx.session_id),
        .event_time_ms = ev->time_ms,
        .received_at_ms = ev->received_at_ms,
        .source = source,
        .page_url = first_set(url, CP_SLICE_NULL),
        .page_path = first_set(ev->ctx.page_path, CP_SLICE_NULL),
        .page_referrer = first_set(ev->ctx.page_referrer, CP_SLICE_NULL),
        .utm_source = first_set(ev->ctx.campaign_source, query_param(url, "utm_source")),
        .utm_medium = first_set(ev->ctx.campaign_medium, query_param(url, "utm_medium")),
        .utm_campaign = first_set(ev->ctx.campaign_name, query_param(url, "utm_campaign")),
        .utm_term = first_set(ev->ctx.campaign_term, query_param(url, "utm_term")),
        .utm_content = first_set(ev->ctx.campaign_content, query_param(url, "utm_content")),
        .country = country,
        .locale = first_set(ev->ctx.locale, CP_SLICE_NULL),
        .ip = first_set(ev->ctx.ip, CP_SLICE_NULL),
        .device_type = lit(ua.device_type),
        .browser = lit(ua.browser),
        .os = lit(ua.os),
        .is_bot = ua.is_bot,
        .late = late,
        .email = first_set(ev->email, CP_SLICE_NULL),
        .email_domain = cp_email_domain(ev->email, s->email_domain),
        .name = first_set(ev->name, CP_SLICE_NULL),
        .order_id = first_set(ev->order_id, CP_SLICE_NULL),
        .currency = first_set(ev->currency, CP_SLICE_NULL),
        .has_revenue = (ev->flags & (CP_HAS_REVENUE | CP_HAS_TOTAL)) != 0,
        .revenue = (ev->flags & CP_HAS_REVENUE) ? ev->revenue : ev->total,
        .properties = ev->properties};
    int fresh = ev->kind == CP_KIND_ORDER_COMPLETED ? order_new(s, ev->order_id) : 0;
    if (fresh < 0) return CP_ENOMEM;
    int64_t rate = fresh ? rate_of(s, ev->currency, ev->time_ms) : 0;
    int rc = cp_store_add_event(s->store, &r);
    if (rc == CP_OK && s->track) {
        cp_session_event se = session_event_of(&r);
        rc = sess_track_add(s->track, s->store, &se);
    }
    if (rc == CP_OK) people_track_add(s->people, &r);
    if (s->live)
        cp_live_add(s->live,
                    &(cp_live_event){.kind = ev->kind,
                                     .time_ms = ev->time_ms,
                                     .identity = r.identity,
                                     .page_url = r.page_url,
                                     .page_path = r.page_path,
                                     .referrer = r.page_referrer,
                                     .country = country,
                                     .is_bot = ua.is_bot,
                                     .late = late,
                                     .has_revenue = r.has_revenue && rate,
                                     .revenue = cp_money_convert(r.revenue, rate),
                                     .rate_e8 = rate,
                                     .repeat_order = !fresh && ev->kind == CP_KIND_ORDER_COMPLETED,
                                     .products = ev->products,
                                     .n_products = ev->n_products});
    if (rc == CP_OK && fresh) rc = write_order(s, ev, offset, country);
    if (rc == CP_OK && ev->kind == CP_KIND_ORDER_REFUNDED)
        rc = write_refund(s, ev, offset, country);
    return rc;
}

#define NAME_OF_TYPE(id, name)       name,
#define NAME_OF_KIND(id, name, spec) name,
#define NAME(name)                   name,
static const char *const types[] = {CP_EVENT_TYPES(NAME_OF_TYPE)};
static const char *const kinds[] = {CP_EVENT_KINDS(NAME_OF_KIND)};
static const char *const devices[] = {CP_UA_DEVICES(NAME)};
static const char *const browsers[] = {CP_UA_BROWSERS(NAME)};
static const char *const oses[] = {CP_UA_OSES(NAME)};

int silver_enums(cp_store *s)
{
    static const struct {
        const char *column;
        const char *const *names;
        size_t n;
    } cols[] = {{"type", types, sizeof(types) / sizeof(*types)},
                {"kind", kinds, sizeof(kinds) / sizeof(*kinds)},
                {"device_type", devices, sizeof(devices) / sizeof(*devices)},
                {"browser", browsers, sizeof(browsers) / sizeof(*browsers)},
                {"os", oses, sizeof(oses) / sizeof(*oses)}};
    int rc = CP_OK;
    for (size_t i = 0; i < sizeof(cols) / sizeof(*cols) && rc == CP_OK; i++)
        rc = cp_store_enum_column(s, "events", cols[i].column, cols[i].names, cols[i].n);
    return rc;
}

static bool is_poison(const poison_set *ps, int64_t offset)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->offsets[i] == offset) return true;
    return false;
}

int silver_write_or_isolate(cp_pipeline *p, const cp_event *ev, int64_t offset, uint64_t msg,
                            uint64_t delivery, cp_slice source, cp_slice at, bool late)
{
    poison_set *ps = &p->poison;
    if (ps->n && is_poison(ps, offset)) {
        cp_dead_letter d = {.received_at_ms = ev->received_at_ms,
                            .source = source,
                            .at = at,
                            .reason = cp_slice_from(cp_reject_reason_name(CP_REJECT_STORE_ERROR)),
                            .raw = ev->raw};
        char detail[400];
        snprintf(detail, sizeof(detail), "silver could not store bronze offset %lld: %s",
                 (long long)offset, ps->why);
        d.detail = cp_slice_from(detail);
        return cp_store_add_dead_letter(p->store, &d);
    }
    int rc = silver_write(&p->silver, ev, offset, msg, delivery, source, late);
    if (rc != CP_EDB) return rc;
    ps->found = true;
    if (ps->suspect != offset) { /* once more, to tell the row from the store */
        ps->suspect = offset;
        return rc;
    }
    ps->suspect = -1;
    if (cp_grow((void **)&ps->offsets, &ps->cap, ps->n + 1, sizeof(*ps->offsets))) return CP_ENOMEM;
    ps->offsets[ps->n++] = offset;
    snprintf(ps->why, sizeof(ps->why), "%s", cp_store_error(p->store));
    atomic_fetch_add(&ps->total, 1);
    CP_ERROR("pipeline",
             "silver refused the event at bronze offset %lld (%s): it becomes a dead "
             "letter",
             (long long)offset, ps->why);
    return rc;
}

void silver_back(cp_pipeline *p)
{
    cp_live_reset(p->live);
    if (cp_live_restore(p->live, p->store))
        CP_WARN("pipeline", "restoring the live view: %s", cp_store_error(p->store));
    if (silver_orders_load(&p->silver)) CP_WARN("pipeline", "order ids not reloaded");
}

/* Ground truth: exact counts of what the simulator generated, kept while it
 * generates, and written as JSON for tests to compare a pipeline against. */
#include "sim_truth.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <string.h>

int sim_truth_init(sim_truth *t, int64_t days, int64_t customers)
{
    memset(t, 0, sizeof(*t));
    t->days = cp_calloc((size_t)days, sizeof(*t->days));
    t->n_days = days;
    t->identified = cp_calloc((size_t)customers / 8 + 1, 1);
    t->orders = cp_calloc((size_t)customers + 1, sizeof(*t->orders));
    t->dev_first = cp_malloc(((size_t)customers * 2 + 1) * sizeof(*t->dev_first));
    t->dev_linked = cp_calloc((size_t)customers / 4 + 1, 1);
    t->n_customers = customers;
    for (int64_t i = 0; t->dev_first && i < customers * 2; i++) t->dev_first[i] = INT32_MAX;
    return t->days && t->identified && t->orders && t->dev_first && t->dev_linked ? CP_OK
                                                                                  : CP_ENOMEM;
}

void sim_truth_free(sim_truth *t)
{
    cp_free(t->days);
    cp_free(t->identified);
    cp_free(t->orders);
    cp_free(t->dev_first);
    cp_free(t->dev_linked);
    t->dev_first = NULL;
    t->dev_linked = NULL;
    t->days = NULL;
    t->identified = NULL;
    t->orders = NULL;
}

/* Whether a customer is identified, and their orders, for the purchase segments (called in
 * day order); new customers by day are counted at the end (new_customers_by_day). */
static void account_customer(sim_truth *t, uint32_t cust, int user, unsigned orders)
{
    if ((int64_t)cust >= t->n_customers) return;
    if (user) t->identified[cust / 8] |= (uint8_t)(1u << (cust % 8));
    unsigned n = t->orders[cust] + orders;
    t->orders[cust] = (uint16_t)(n > 65535 ? 65535 : n);
}

static int funnel_step(int kind)
{
    switch (kind) {
    case CP_KIND_PAGE:
        return FUNNEL_PAGE;
    case CP_KIND_PRODUCT_VIEWED:
        return FUNNEL_PRODUCT;
    case CP_KIND_PRODUCT_ADDED:
        return FUNNEL_CART;
    case CP_KIND_CHECKOUT_STARTED:
        return FUNNEL_CHECKOUT;
    case CP_KIND_ORDER_COMPLETED:
        return FUNNEL_ORDER;
    default:
        return -1;
    }
}

static void account_order(truth_day *td, const sim_catalog *cat, const sim_day *d, const sim_ev *e,
                          int country)
{
    int64_t r = 0;
    for (unsigned i = 0; i < e->n_lines; i++) {
        const sim_line *l = &d->lines[e->lines_off + i];
        r += (int64_t)cat->items[l->product].price_cents * l->qty;
        td->units += l->qty;
    }
    td->orders++;
    td->revenue_cents += r;
    td->country_orders[country]++;
    td->country_revenue[country] += r;
}

void sim_truth_account(sim_truth *t, const cp_sim_params *p, const sim_catalog *cat,
                       const sim_day *d, size_t from, size_t to)
{
    if (from == to) return;
    const sim_ev *first = &d->ev[from];
    truth_day *td = &t->days[cp_day_of(first->time_ms) - p->start_day];
    sim_customer tmp;
    int bot = first->flags & EVF_BOT;
    int country = bot ? 0 : sim_person(p, d, first->cust, &tmp)->country;
    unsigned devices = 0, user = 0, orders = 0, sessions_mask[4] = {0};
    uint32_t seen_sessions = 0;
    int32_t day = (int32_t)(td - t->days);
    for (size_t i = from; i < to; i++) {
        const sim_ev *e = &d->ev[i];
        td->by_kind[e->kind]++;
        td->events++;
        if (bot) {
            td->bot_events++;
            continue;
        }
        if ((int64_t)e->cust < t->n_customers && e->device < 2) {
            size_t k = (size_t)e->cust * 2 + e->device;
            if (day < t->dev_first[k]) t->dev_first[k] = day;
            if (e->flags & EVF_USER) t->dev_linked[k / 8] |= (uint8_t)(1u << (k % 8));
        }
        devices |= 1u << e->device;
        user |= (e->flags & EVF_USER) != 0;
        seen_sessions |= 1u << e->session;
        int step = funnel_step(e->kind);
        if (step >= 0 && e->session < 4) sessions_mask[e->session] |= 1u << step;
        if (e->kind == CP_KIND_SIGNED_UP) td->signups++;
        if (e->kind == CP_KIND_ORDER_COMPLETED) {
            account_order(td, cat, d, e, country);
            orders++;
        }
    }
    if (bot) { /* one bot session per call, with its own anonymousId */
        td->visitors++;
        td->sessions++;
        td->bot_sessions++;
        return;
    }
    td->visitors += (unsigned)__builtin_popcount(devices);
    td->customers += user;
    account_customer(t, first->cust, user != 0, orders);
    td->sessions += (unsigned)__builtin_popcount(seen_sessions);
    for (int s = 0; s < 4; s++) {
        if (!(seen_sessions & (1u << s))) continue;
        for (int k = 0; k < FUNNEL__COUNT && (sessions_mask[s] & ((2u << k) - 1)) == (2u << k) - 1;
             k++)
            td->funnel_sessions[k]++;
    }
}

static int append_kinds(cp_buf *b, const uint64_t *by_kind)
{
    int rc = cp_buf_append_str(b, "{");
    for (int k = 0; k < CP_KIND__COUNT && !rc; k++)
        rc = cp_buf_appendf(b, "%s\"%s\":%llu", k ? "," : "", cp_event_kind_name((cp_event_kind)k),
                            (unsigned long long)by_kind[k]);
    return rc ? rc : cp_buf_append_str(b, "}");
}

static int append_funnel(cp_buf *b, const uint64_t *f)
{
    return cp_buf_appendf(b,
                          "{\"page_view\":%llu,\"product_view\":%llu,\"cart\":%llu,"
                          "\"checkout\":%llu,\"order\":%llu}",
                          (unsigned long long)f[0], (unsigned long long)f[1],
                          (unsigned long long)f[2], (unsigned long long)f[3],
                          (unsigned long long)f[4]);
}

static int append_money(cp_buf *b, const char *name, int64_t cents)
{
    char tmp[32];
    size_t n = cp_fmt_cents(tmp, cents);
    return cp_buf_appendf(b, "\"%s\":%.*s", name, (int)n, tmp);
}

static int append_countries(cp_buf *b, const uint64_t *orders, const int64_t *revenue)
{
    int rc = cp_buf_append_str(b, "{"), first = 1;
    for (int i = 0; i < sim_n_countries && !rc; i++) {
        if (!orders[i]) continue;
        rc = cp_buf_appendf(b, "%s\"%s\":{\"orders\":%llu,", first ? "" : ",",
                            sim_countries[i].code, (unsigned long long)orders[i]);
        if (!rc) rc = append_money(b, "revenue", revenue[i]);
        if (!rc) rc = cp_buf_append_str(b, "}");
        first = 0;
    }
    return rc ? rc : cp_buf_append_str(b, "}");
}

static int append_day(cp_buf *b, const truth_day *td, int64_t day)
{
    char date[11];
    date[cp_date_format(day, date)] = '\0';
    int rc = cp_buf_appendf(b, "    {\"date\":\"%s\",\"events\":%llu,\"by_kind\":", date,
                            (unsigned long long)td->events);
    if (!rc) rc = append_kinds(b, td->by_kind);
    if (!rc)
        rc = cp_buf_appendf(
            b,
            ",\"bot_events\":%llu,\"late_events\":%llu,\"distinct_customers\":%llu,"
            "\"distinct_visitors\":%llu,\"sessions\":%llu,\"bot_sessions\":%llu,\"signups\":%llu,"
            "\"new_customers\":%llu,\"orders\":%llu,\"units\":%llu,",
            (unsigned long long)td->bot_events, (unsigned long long)td->late,
            (unsigned long long)td->customers, (unsigned long long)td->visitors,
            (unsigned long long)td->sessions, (unsigned long long)td->bot_sessions,
            (unsigned long long)td->signups, (unsigned long long)td->new_customers,
            (unsigned long long)td->orders, (unsigned long long)td->units);
    if (!rc) rc = append_money(b, "revenue", td->revenue_cents);
    if (!rc) rc = cp_buf_append_str(b, ",\"funnel_sessions\":");
    if (!rc) rc = append_funnel(b, td->funnel_sessions);
    if (!rc) rc = cp_buf_append_str(b, ",\"by_country\":");
    if (!rc) rc = append_countries(b, td->country_orders, td->country_revenue);
    return rc ? rc : cp_buf_append_str(b, "}");
}

static int append_totals(cp_buf *b, const sim_truth *t)
{
    truth_day all = {0};
    for (int64_t d = 0; d < t->n_days; d++) {
        const truth_day *td = &t->days[d];
        for (int k = 0; k < CP_KIND__COUNT; k++) all.by_kind[k] += td->by_kind[k];
        for (int k = 0; k < FUNNEL__COUNT; k++) all.funnel_sessions[k] += td->funnel_sessions[k];
        for (int k = 0; k < SIM_MAX_COUNTRIES; k++) {
            all.country_orders[k] += td->country_orders[k];
            all.country_revenue[k] += td->country_revenue[k];
        }
        all.events += td->events;
        all.bot_events += td->bot_events;
        all.sessions += td->sessions;
        all.bot_sessions += td->bot_sessions;
        all.orders += td->orders;
        all.units += td->units;
        all.revenue_cents += td->revenue_cents;
        all.signups += td->signups;
        all.new_customers += td->new_customers;
    }
    /* Purchase segments of the identified customers, as dim_customers defines them. */
    uint64_t seg[4] = {0};
    for (int64_t c = 0; c < t->n_customers; c++) {
        if (!(t->identified[c / 8] & (1u << (c % 8)))) continue;
        unsigned n = t->orders[c];
        seg[n == 0 ? 0 : n == 1 ? 1 : n <= 4 ? 2 : 3]++;
    }
    uint64_t rejected = 0;
    for (int r = 0; r < CP_REJECT__COUNT; r++) rejected += t->rejects[r];
    int rc = cp_buf_appendf(b,
                            "  \"totals\":{\"lines\":%llu,\"events\":%llu,\"duplicates\":%llu,"
                            "\"rejected\":%llu,\"late_events\":%llu,\"bot_events\":%llu,"
                            "\"sessions\":%llu,\"bot_sessions\":%llu,\"signups\":%llu,"
                            "\"new_customers\":%llu,\"customer_segments\":{\"No Purchases\":%llu,"
                            "\"One-time\":%llu,\"Regular\":%llu,\"Frequent\":%llu},"
                            "\"orders\":%llu,\"units\":%llu,",
                            (unsigned long long)t->lines, (unsigned long long)all.events,
                            (unsigned long long)t->duplicates, (unsigned long long)rejected,
                            (unsigned long long)t->late, (unsigned long long)all.bot_events,
                            (unsigned long long)all.sessions, (unsigned long long)all.bot_sessions,
                            (unsigned long long)all.signups, (unsigned long long)all.new_customers,
                            (unsigned long long)seg[0], (unsigned long long)seg[1],
                            (unsigned long long)seg[2], (unsigned long long)seg[3],
                            (unsigned long long)all.orders, (unsigned long long)all.units);
    if (!rc) rc = append_money(b, "revenue", all.revenue_cents);
    if (!rc) rc = cp_buf_append_str(b, ",\"by_kind\":");
    if (!rc) rc = append_kinds(b, all.by_kind);
    if (!rc) rc = cp_buf_append_str(b, ",\"funnel_sessions\":");
    if (!rc) rc = append_funnel(b, all.funnel_sessions);
    if (!rc) rc = cp_buf_append_str(b, ",\"by_country\":");
    if (!rc) rc = append_countries(b, all.country_orders, all.country_revenue);
    if (!rc) rc = cp_buf_append_str(b, ",\"rejects_by_reason\":{");
    for (int r = 0, first = 1; r < CP_REJECT__COUNT && !rc; r++) {
        if (!t->rejects[r]) continue;
        rc = cp_buf_appendf(b, "%s\"%s\":%llu", first ? "" : ",",
                            cp_reject_reason_name((cp_reject_reason)r),
                            (unsigned long long)t->rejects[r]);
        first = 0;
    }
    return rc ? rc : cp_buf_append_str(b, "}},\n");
}

/* head: what comes before "params" ("{\n", and the profile when messy). */
static int append_params(cp_buf *b, const cp_sim_params *p, const char *head)
{
    char start[11];
    start[cp_date_format(p->start_day, start)] = '\0';
    return cp_buf_appendf(
        b,
        "%s  \"params\":{\"seed\":%llu,\"customers\":%lld,\"days\":%lld,\"start\":\"%s\","
        "\"products\":%lld,\"duplicate_rate\":%g,\"late_rate\":%g,\"skew_rate\":%g,"
        "\"malformed_rate\":%g,\"bot_rate\":%g,\"allowed_lateness_ms\":%lld,"
        "\"session_timeout_ms\":%lld},\n",
        head, (unsigned long long)p->seed, (long long)p->customers, (long long)p->days, start,
        (long long)p->products, p->duplicate_rate, p->late_rate, p->skew_rate, p->malformed_rate,
        p->bot_rate, (long long)p->allowed_lateness_ms, (long long)p->session_timeout_ms);
}

/* "customer_personas": {"cus_000000000":"regular",…} (at the start of the window), then
 * "persona_shifts": {"cus_…":{"from":…,"to":…,"day":…},…}, streamed in pieces. */
static int write_personas(cp_buf *b, const cp_sim_params *p, const cp_sim_output *out)
{
    int rc = cp_buf_append_str(b, "  \"persona_counts\":{");
    uint64_t counts[PERSONA__COUNT] = {0};
    for (int64_t i = 0; i < p->customers; i++) counts[cp_sim_persona_of(p, i)]++;
    for (int k = 0; k < PERSONA__COUNT && !rc; k++)
        rc = cp_buf_appendf(b, "%s\"%s\":%llu", k ? "," : "", cp_sim_persona_name(k),
                            (unsigned long long)counts[k]);
    if (!rc) rc = cp_buf_append_str(b, "},\n  \"customer_personas\":{");
    for (int64_t i = 0; i < p->customers && !rc; i++) {
        char id[16];
        size_t n = sim_format_customer_id((uint32_t)i, id);
        rc = cp_buf_appendf(b, "%s\"%.*s\":\"%s\"", i ? "," : "", (int)n, id,
                            cp_sim_persona_name(cp_sim_persona_of(p, i)));
        if (!rc && b->len > (1 << 20)) {
            rc = out->truth(out->ud, b->ptr, b->len);
            cp_buf_reset(b);
        }
    }
    if (!rc) rc = cp_buf_append_str(b, "},\n  \"persona_shifts\":{");
    int64_t last = p->start_day + p->days - 1, shifted = 0;
    for (int64_t i = 0; i < p->customers && !rc && p->shift_rate > 0; i++) {
        int before = cp_sim_persona_of(p, i), after = cp_sim_persona_on(p, i, last);
        if (before == after) continue;
        char id[16], day[11] = {0};
        size_t n = sim_format_customer_id((uint32_t)i, id);
        cp_date_format(p->start_day + (p->shift_day ? p->shift_day : p->days / 2), day);
        rc = cp_buf_appendf(b, "%s\"%.*s\":{\"from\":\"%s\",\"to\":\"%s\",\"day\":\"%s\"}",
                            shifted++ ? "," : "", (int)n, id, cp_sim_persona_name(before),
                            cp_sim_persona_name(after), day);
        if (!rc && b->len > (1 << 20)) {
            rc = out->truth(out->ud, b->ptr, b->len);
            cp_buf_reset(b);
        }
    }
    return rc ? rc : cp_buf_append_str(b, "}\n}\n");
}

/* The messy profile's "cases": {"group":{"name":count,…},…}, a group a line. */
static int append_cases(cp_buf *b, const uint64_t *m)
{
    static const struct {
        const char *group, *name;
    } names[M__COUNT] = {
#define SIM_M_NAME(id, group, name) {group, name},
        SIM_MESSY_COUNTS(SIM_M_NAME)
#undef SIM_M_NAME
    };
    int rc = cp_buf_append_str(b, "  \"cases\":{");
    for (int i = 0; i < M__COUNT && !rc; i++) {
        int first = i == 0 || strcmp(names[i].group, names[i - 1].group) != 0;
        if (first) rc = cp_buf_appendf(b, "%s\n    \"%s\":{", i ? "}," : "", names[i].group);
        if (!rc)
            rc = cp_buf_appendf(b, "%s\"%s\":%llu", first ? "" : ",", names[i].name,
                                (unsigned long long)m[i]);
    }
    return rc ? rc : cp_buf_append_str(b, "}\n  },\n");
}

/* The figures whose meaning the messy profile's cases change (docs/simulator.md). */
static const char omitted[] =
    "  \"omitted\":[\"events\",\"by_kind\",\"duplicates\",\"rejected\",\"rejects_by_reason\","
    "\"late_events\",\"bot_events\",\"sessions\",\"bot_sessions\",\"funnel_sessions\","
    "\"distinct_customers\",\"distinct_visitors\",\"new_customers\",\"customer_segments\","
    "\"orders\",\"units\",\"revenue\",\"by_country\"],\n";

static int write_messy(const sim_truth *t, const cp_sim_params *p, const cp_sim_output *out)
{
    cp_buf b;
    cp_buf_init(&b);
    uint64_t signups = 0;
    for (int64_t d = 0; d < t->n_days; d++) signups += t->days[d].signups;
    int rc = append_params(&b, p, "{\n  \"profile\":\"messy\",\n");
    if (!rc) rc = cp_buf_append_str(&b, omitted);
    if (!rc)
        rc = cp_buf_appendf(&b, "  \"totals\":{\"lines\":%llu,\"signups\":%llu},\n  \"days\":[\n",
                            (unsigned long long)t->lines, (unsigned long long)signups);
    for (int64_t d = 0; d < t->n_days && !rc; d++) {
        char date[11];
        date[cp_date_format(p->start_day + d, date)] = '\0';
        rc = cp_buf_appendf(&b, "    {\"date\":\"%s\",\"signups\":%llu}%s\n", date,
                            (unsigned long long)t->days[d].signups, d + 1 < t->n_days ? "," : "");
    }
    if (!rc) rc = cp_buf_append_str(&b, "  ],\n");
    if (!rc) rc = append_cases(&b, t->messy);
    if (!rc) rc = write_personas(&b, p, out);
    if (!rc && b.len) rc = out->truth(out->ud, b.ptr, b.len);
    cp_buf_free(&b);
    return rc;
}

/* New customers by day, as customers.first_seen counts them: an identified customer's first
 * event on a device that carries their userId at some point (identify links it), their
 * anonymous browsing before included. */
static void new_customers_by_day(sim_truth *t)
{
    for (int64_t d = 0; d < t->n_days; d++) t->days[d].new_customers = 0;
    for (int64_t c = 0; c < t->n_customers; c++) {
        if (!(t->identified[c / 8] & (1u << (c % 8)))) continue;
        int32_t first = INT32_MAX;
        for (size_t k = (size_t)c * 2; k < (size_t)c * 2 + 2; k++)
            if ((t->dev_linked[k / 8] & (1u << (k % 8))) && t->dev_first[k] < first)
                first = t->dev_first[k];
        if (first < t->n_days) t->days[first].new_customers++;
    }
}

int sim_truth_write(sim_truth *t, const cp_sim_params *p, const cp_sim_output *out)
{
    if (!out->truth) return CP_OK;
    new_customers_by_day(t);
    if (p->profile == CP_SIM_MESSY) return write_messy(t, p, out);
    cp_buf b;
    cp_buf_init(&b);
    int rc = append_params(&b, p, "{\n");
    if (!rc) rc = append_totals(&b, t);
    if (!rc) rc = cp_buf_append_str(&b, "  \"days\":[\n");
    for (int64_t d = 0; d < t->n_days && !rc; d++) {
        rc = append_day(&b, &t->days[d], p->start_day + d);
        if (!rc) rc = cp_buf_append_str(&b, d + 1 < t->n_days ? ",\n" : "\n");
    }
    if (!rc) rc = cp_buf_append_str(&b, "  ],\n");
    if (!rc) rc = write_personas(&b, p, out);
    if (!rc && b.len) rc = out->truth(out->ud, b.ptr, b.len);
    cp_buf_free(&b);
    return rc;
}

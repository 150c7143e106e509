/* src/sources/simulator.c and the model: determinism, and the ground truth
 * checked against an independent reading of the output — every line decoded
 * by the event decoder, deduplicated, sessionised and summed here. */
#include "clickpulse/error.h"
#include "clickpulse/event.h"
#include "clickpulse/simulate.h"
#include "clickpulse/str.h"
#include "clickpulse/time.h"
#include "test.h"

#include <math.h>

typedef struct capture {
    cp_buf events, truth, customers, purchases, clicks;
} capture;

static int cap_events(void *ud, const char *b, size_t n, size_t ev)
{
    (void)ev;
    return cp_buf_append(&((capture *)ud)->events, b, n);
}
static int cap_truth(void *ud, const char *b, size_t n)
{
    return cp_buf_append(&((capture *)ud)->truth, b, n);
}
static int cap_customers(void *ud, const char *b, size_t n)
{
    return cp_buf_append(&((capture *)ud)->customers, b, n);
}
static int cap_purchases(void *ud, const char *b, size_t n)
{
    return cp_buf_append(&((capture *)ud)->purchases, b, n);
}
static int cap_clicks(void *ud, const char *b, size_t n)
{
    return cp_buf_append(&((capture *)ud)->clicks, b, n);
}

static void params(cp_sim_params *p, uint64_t seed, cp_sim_format fmt)
{
    cp_config c;
    cp_config_init(&c);
    cp_sim_params_from_config(&c, p);
    cp_config_free(&c);
    p->seed = seed;
    p->customers = 3000;
    p->days = 6;
    p->format = fmt;
    p->malformed_rate = 0.01;
    p->duplicate_rate = 0.02;
    p->late_rate = 0.02;
    p->skew_rate = 0.2;
}

static void run(const cp_sim_params *p, capture *c)
{
    memset(c, 0, sizeof(*c));
    cp_sim_output out = {c, cap_events, cap_customers, cap_purchases, cap_clicks, cap_truth};
    cp_sim_stats st;
    CHECK(cp_simulate(p, &out, &st) == CP_OK);
}

static void free_capture(capture *c)
{
    cp_buf_free(&c->events);
    cp_buf_free(&c->truth);
    cp_buf_free(&c->customers);
    cp_buf_free(&c->purchases);
    cp_buf_free(&c->clicks);
}

/* The number after "key": at or after anchor in the truth text; -1 when absent. */
static double truth_num(const capture *c, const char *anchor, const char *key)
{
    const char *a = anchor ? strstr(c->truth.ptr, anchor) : c->truth.ptr;
    if (!a) return -1;
    char k[96];
    snprintf(k, sizeof(k), "\"%s\":", key);
    const char *p = strstr(a, k);
    return p ? strtod(p + strlen(k), NULL) : -1;
}

static void test_deterministic(void)
{
    cp_sim_params p;
    capture a, b, c;
    params(&p, 7, CP_SIM_JSONL);
    p.customers = 500;
    run(&p, &a);
    run(&p, &b);
    p.seed = 8;
    run(&p, &c);
    CHECK(a.events.len > 100000);
    CHECK(cp_slice_eq(cp_buf_slice(&a.events), cp_buf_slice(&b.events)));
    CHECK(cp_slice_eq(cp_buf_slice(&a.truth), cp_buf_slice(&b.truth)));
    CHECK(cp_slice_eq(cp_buf_slice(&a.purchases), cp_buf_slice(&b.purchases)));
    CHECK(cp_slice_eq(cp_buf_slice(&a.clicks), cp_buf_slice(&b.clicks)));
    CHECK(!cp_slice_eq(cp_buf_slice(&a.events), cp_buf_slice(&c.events)));
    const char *head = "customer_id,name,email,country,signup_date\ncus_000000000,";
    CHECK(strncmp(a.customers.ptr, head, strlen(head)) == 0);
    int rows = 0;
    for (size_t i = 0; i < a.customers.len; i++) rows += a.customers.ptr[i] == '\n';
    CHECK_INT(rows, 501);
    free_capture(&a);
    free_capture(&b);
    free_capture(&c);
}

/* ---- an independent reading of the output ---- */

typedef struct rec {
    uint64_t key; /* session key: anonymousId, else userId */
    int64_t time;
    uint8_t kind, bot;
} rec;

typedef struct reading {
    uint64_t *ids; /* open-addressing set of messageId hashes */
    size_t cap;
    rec *recs;
    size_t n, rcap;
    uint64_t by_kind_day[16][CP_KIND__COUNT];
    uint64_t duplicates, rejects[CP_REJECT__COUNT], late;
    int64_t max_time, lateness, start_day;
    int64_t revenue_day[16], orders_day[16];
    int64_t revenue_country[8]; /* US, DE only */
    uint64_t *users;            /* set of (userId hash ^ day) */
    size_t ucap;
    uint64_t customers_day[16];
} reading;

static uint64_t fnv(cp_slice s)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < s.len; i++) h = (h ^ (unsigned char)s.ptr[i]) * 1099511628211ULL;
    return h | 1;
}

static int set_add(uint64_t *set, size_t cap, uint64_t h)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (set[i] == h) return 0;
        if (!set[i]) return set[i] = h, 1;
    }
}

static int is_bot(cp_slice ua)
{
    static const char *const tells[] = {"bot", "Bot", "python-requests", "HeadlessChrome"};
    for (int i = 0; i < 4; i++)
        if (memmem(ua.ptr, ua.len, tells[i], strlen(tells[i]))) return 1;
    return 0;
}

static int on_event(void *ud, const cp_event *e)
{
    reading *r = ud;
    if (!set_add(r->ids, r->cap, fnv(e->message_id))) {
        r->duplicates++;
        return 0;
    }
    int64_t day = cp_day_of(e->time_ms) - r->start_day;
    if (day < 0 || day >= 16) return CP_ERANGE;
    r->by_kind_day[day][e->kind]++;
    if (e->time_ms < r->max_time - r->lateness) r->late++;
    if (e->time_ms > r->max_time) r->max_time = e->time_ms;
    if (e->kind == CP_KIND_ORDER_COMPLETED) {
        int64_t cents = llround(e->revenue * 100);
        r->revenue_day[day] += cents;
        r->orders_day[day]++;
        if (cp_slice_eq_lit(e->ctx.country, "US")) r->revenue_country[0] += cents;
        if (cp_slice_eq_lit(e->ctx.country, "DE")) r->revenue_country[1] += cents;
        /* revenue is the sum of the lines */
        int64_t sum = 0;
        for (uint32_t i = 0; i < e->n_products; i++)
            sum += llround(e->products[i].price * 100) * e->products[i].quantity;
        if (sum != cents) return CP_ECORRUPT;
    }
    if (e->user_id.len &&
        set_add(r->users, r->ucap, fnv(e->user_id) ^ (uint64_t)day * 0x9E3779B97F4A7C15ULL))
        r->customers_day[day]++;
    if (r->n == r->rcap) {
        r->rcap = r->rcap ? r->rcap * 2 : 65536;
        r->recs = realloc(r->recs, r->rcap * sizeof(rec));
    }
    r->recs[r->n++] = (rec){fnv(e->anonymous_id.len ? e->anonymous_id : e->user_id), e->time_ms,
                            (uint8_t)e->kind, (uint8_t)is_bot(e->ctx.user_agent)};
    return 0;
}

static int on_reject(void *ud, const cp_reject *rej)
{
    ((reading *)ud)->rejects[rej->reason]++;
    return 0;
}

static int by_key_time(const void *a, const void *b)
{
    const rec *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->time > y->time) - (x->time < y->time);
}

static int step_of(int kind)
{
    switch (kind) {
    case CP_KIND_PAGE:
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

/* Sessions by the inactivity rule, per start day; funnel over human sessions. */
static void sessions(reading *r, int64_t timeout, uint64_t *per_day, uint64_t *bots,
                     uint64_t *funnel)
{
    qsort(r->recs, r->n, sizeof(rec), by_key_time);
    for (size_t i = 0; i < r->n;) {
        size_t j = i + 1;
        while (j < r->n && r->recs[j].key == r->recs[i].key &&
               r->recs[j].time - r->recs[j - 1].time <= timeout)
            j++;
        per_day[cp_day_of(r->recs[i].time) - r->start_day]++;
        unsigned mask = 0;
        for (size_t k = i; k < j; k++) {
            int s = step_of(r->recs[k].kind);
            if (s >= 0) mask |= 1u << s;
        }
        if (r->recs[i].bot)
            (*bots)++;
        else
            for (int s = 0; s < 5 && (mask & ((2u << s) - 1)) == (2u << s) - 1; s++) funnel[s]++;
        i = j;
    }
}

static void check_against_truth(cp_sim_format fmt)
{
    cp_sim_params p;
    capture c;
    params(&p, 11, fmt);
    run(&p, &c);
    reading r = {.cap = 1 << 22,
                 .ucap = 1 << 16,
                 .max_time = INT64_MIN / 2,
                 .lateness = p.allowed_lateness_ms,
                 .start_day = p.start_day};
    r.ids = calloc(r.cap, sizeof(uint64_t));
    r.users = calloc(r.ucap, sizeof(uint64_t));
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.trust_received_at = true;
    cp_event_decoder *d = cp_event_decoder_new(&o, (cp_decode_sink){&r, on_event, on_reject});
    CHECK(cp_event_decoder_feed(d, c.events.ptr, c.events.len) == 0);
    CHECK(cp_event_decoder_finish(d) == 0);
    cp_event_decoder_free(d);

    uint64_t total = 0;
    for (int day = 0; day < p.days; day++) {
        char anchor[64], date[11];
        date[cp_date_format(p.start_day + day, date)] = 0;
        snprintf(anchor, sizeof(anchor), "{\"date\":\"%s\"", date);
        for (int k = 0; k < CP_KIND__COUNT; k++) {
            CHECK_INT(r.by_kind_day[day][k],
                      truth_num(&c, anchor, cp_event_kind_name((cp_event_kind)k)));
            total += r.by_kind_day[day][k];
        }
        CHECK_INT(r.orders_day[day], truth_num(&c, anchor, "orders"));
        CHECK_INT(r.revenue_day[day], llround(truth_num(&c, anchor, "revenue") * 100));
        CHECK_INT(r.customers_day[day], truth_num(&c, anchor, "distinct_customers"));
    }
    CHECK(total > 50000);
    CHECK_INT(total, truth_num(&c, "\"totals\"", "events"));
    CHECK_INT(r.duplicates, truth_num(&c, "\"totals\"", "duplicates"));
    CHECK(r.duplicates > 500);
    CHECK_INT(r.late, truth_num(&c, "\"totals\"", "late_events"));
    CHECK(r.late > 100);
    /* The totals come first in the file, so the first by_country is theirs. */
    CHECK_INT(r.revenue_country[0],
              llround(truth_num(&c, "\"by_country\":{\"US\"", "revenue") * 100));
    CHECK_INT(r.revenue_country[1], llround(truth_num(&c, "\"DE\":{", "revenue") * 100));
    uint64_t rejected = 0;
    for (int k = 0; k < CP_REJECT__COUNT; k++) {
        double want =
            truth_num(&c, "\"rejects_by_reason\"", cp_reject_reason_name((cp_reject_reason)k));
        CHECK_INT(r.rejects[k], want < 0 ? 0 : want);
        rejected += r.rejects[k];
    }
    CHECK(r.rejects[CP_REJECT_NOT_JSON] > 10 && r.rejects[CP_REJECT_INVALID_UTF8] > 10 &&
          r.rejects[CP_REJECT_WRONG_TYPE] > 10 && r.rejects[CP_REJECT_BAD_TIMESTAMP] > 10 &&
          r.rejects[CP_REJECT_MISSING_IDENTITY] > 10);
    CHECK_INT(rejected, truth_num(&c, "\"totals\"", "rejected"));

    uint64_t per_day[16] = {0}, bots = 0, funnel[5] = {0};
    sessions(&r, p.session_timeout_ms, per_day, &bots, funnel);
    uint64_t all = 0;
    for (int day = 0; day < p.days; day++) {
        char anchor[64], date[11];
        date[cp_date_format(p.start_day + day, date)] = 0;
        snprintf(anchor, sizeof(anchor), "{\"date\":\"%s\"", date);
        CHECK_INT(per_day[day], truth_num(&c, anchor, "sessions"));
        all += per_day[day];
    }
    CHECK_INT(all, truth_num(&c, "\"totals\"", "sessions"));
    CHECK_INT(bots, truth_num(&c, "\"totals\"", "bot_sessions"));
    static const char *const steps[] = {"page_view", "product_view", "cart", "checkout", "order"};
    for (int s = 0; s < 5; s++) CHECK_INT(funnel[s], truth_num(&c, "\"totals\"", steps[s]));
    CHECK(funnel[4] > 100);
    free(r.ids);
    free(r.users);
    free(r.recs);
    free_capture(&c);
}

static void test_truth_jsonl(void)
{
    check_against_truth(CP_SIM_JSONL);
}

static void test_truth_batches(void)
{
    check_against_truth(CP_SIM_BATCH);
}

static void test_personas(void)
{
    cp_sim_params p;
    capture c;
    params(&p, 3, CP_SIM_JSONL);
    p.customers = 200;
    p.days = 1;
    run(&p, &c);
    int counts[5] = {0};
    for (int i = 0; i < 200; i++) {
        int k = cp_sim_persona_of(&p, i);
        CHECK(k >= 0 && k < 5);
        counts[k]++;
        char want[64];
        snprintf(want, sizeof(want), "\"cus_%09d\":\"%s\"", i, cp_sim_persona_name(k));
        CHECK(strstr(c.truth.ptr, want) != NULL);
    }
    for (int k = 0; k < 5; k++)
        CHECK_INT(counts[k], truth_num(&c, "\"persona_counts\"", cp_sim_persona_name(k)));
    CHECK(counts[0] > counts[3]); /* window shoppers outnumber loyal high spenders */
    free_capture(&c);
}

int main(void)
{
    RUN(test_deterministic);
    RUN(test_truth_jsonl);
    RUN(test_truth_batches);
    RUN(test_personas);
    TEST_END();
}

/* src/sources/simulator.c and the model: determinism, the standard profile's
 * output as it was, the ground truth checked against an independent reading of
 * the output — every line decoded by the event decoder, deduplicated,
 * sessionised and summed here — and the messy profile's cases, each found in
 * the lines themselves as often as truth.json says it was planted. */
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

/* large_rate: that share of the events with properties carry a note of 1 to 20 KB in them;
 * without it every line is as it was, and the ground truth is the same. */
static void test_large_properties(void)
{
    cp_sim_params p;
    capture a, b;
    params(&p, 7, CP_SIM_JSONL);
    p.customers = 500;
    run(&p, &a);
    p.large_rate = 0.02;
    run(&p, &b);
    CHECK(cp_slice_eq(cp_buf_slice(&a.truth), cp_buf_slice(&b.truth)));
    const char *x = a.events.ptr, *y = b.events.ptr, *xe = x + a.events.len, *ye = y + b.events.len;
    size_t lines = 0, with_props = 0, notes = 0, shortest = SIZE_MAX, longest = 0, other = 0;
    while (x < xe && y < ye) {
        const char *xn = memchr(x, '\n', (size_t)(xe - x)), *yn = memchr(y, '\n', (size_t)(ye - y));
        CHECK(xn && yn);
        if (!xn || !yn) break;
        lines++;
        with_props += memmem(x, (size_t)(xn - x), "\"properties\":{", 14) != NULL;
        const char *note = memmem(y, (size_t)(yn - y), ",\"note\":\"", 9);
        if (note) {
            const char *end = memchr(note + 9, '"', (size_t)(yn - note - 9));
            size_t len = end ? (size_t)(end - note - 9) : 0;
            notes++;
            shortest = len < shortest ? len : shortest;
            longest = len > longest ? len : longest;
            /* the line without its note is the line as it was */
            other += !end || (size_t)(note - y) + (size_t)(yn - end - 1) != (size_t)(xn - x) ||
                     memcmp(x, y, (size_t)(note - y)) != 0 ||
                     memcmp(x + (note - y), end + 1, (size_t)(yn - end - 1)) != 0;
        } else {
            other += xn - x != yn - y || memcmp(x, y, (size_t)(xn - x)) != 0;
        }
        x = xn + 1, y = yn + 1;
    }
    CHECK(x == xe && y == ye);
    CHECK_INT(other, 0);
    CHECK(lines > 10000);
    /* 2 %, within three standard deviations of the draw (here 192 of 9,993) */
    CHECK(notes > (size_t)((double)with_props * 0.015) &&
          notes < (size_t)((double)with_props * 0.025));
    CHECK(shortest >= 1024 && longest <= 20480 && longest > 15000);
    free_capture(&a);
    free_capture(&b);
}

/* signup_rate: the share of customers.csv's sign-up dates inside the window. */
static void test_signup_rate(void)
{
    static const double rates[] = {0, 0.3, 1};
    for (size_t k = 0; k < 3; k++) {
        cp_sim_params p;
        capture c;
        params(&p, 11, CP_SIM_JSONL);
        p.customers = 2000;
        p.days = 2;
        p.signup_rate = rates[k];
        run(&p, &c);
        char start[16], year_before[16];
        start[cp_date_format(p.start_day, start)] = '\0';
        year_before[cp_date_format(p.start_day - 366, year_before)] = '\0';
        int during = 0, before = 0;
        for (const char *l = strchr(c.customers.ptr, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
            const char *end = strchr(l + 1, '\n');
            const char *comma = l + 1, *last = NULL;
            while ((comma = memchr(comma, ',', (size_t)(end - comma)))) last = comma++;
            CHECK(last != NULL);
            if (!last) break;
            if (strncmp(last + 1, start, 10) >= 0)
                during++;
            else if (strncmp(last + 1, year_before, 10) >= 0)
                before++;
        }
        CHECK_INT(during + before, 2000);
        if (rates[k] == 0) CHECK_INT(during, 0);
        if (rates[k] == 1) CHECK_INT(before, 0);
        if (rates[k] == 0.3) CHECK(during > 520 && during < 680); /* 600 ± 3.6 sd */
        free_capture(&c);
    }
}

/* Share of the events whose "originalTimestamp" falls in the UTC hours [from, from + n)
 * (mod 24). */
static double share_in_hours(const capture *c, int from, int n)
{
    static const char key[] = "\"originalTimestamp\":\"";
    const char *end = c->events.ptr + c->events.len;
    long in = 0, all = 0;
    /* memmem, not strstr: a sanitizer's strstr measures the rest of the text at each call */
    for (const char *t = c->events.ptr; (t = memmem(t, (size_t)(end - t), key, sizeof(key) - 1));
         t += sizeof(key) - 1) {
        int h = atoi(t + sizeof(key) - 1 + 11);
        all++;
        in += ((h - from) % 24 + 24) % 24 < n;
    }
    return all ? (double)in / (double)all : 0;
}

/* Sessions start by the daily curve of the customers' local hour: the evening peak (local
 * 16:00-22:00, two fifths of the day's sessions) and the night (local 01:00-07:00, under a
 * twentieth) move with utc_offset. */
static void test_utc_offset(void)
{
    static const int offsets[] = {0, 6, -8};
    for (size_t k = 0; k < 3; k++) {
        cp_sim_params p;
        capture c;
        params(&p, 12, CP_SIM_JSONL);
        p.customers = 1000;
        p.days = 2;
        p.late_rate = p.skew_rate = p.malformed_rate = 0;
        p.utc_offset = offsets[k];
        run(&p, &c);
        double evening = share_in_hours(&c, 16 - offsets[k], 6);
        double night = share_in_hours(&c, 1 - offsets[k], 6);
        if (evening < 0.3 || night > 0.08)
            fprintf(stderr, "offset %d: evening %.3f night %.3f\n", offsets[k], evening, night);
        CHECK(evening > 0.3);
        CHECK(night < 0.08);
        free_capture(&c);
    }
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
        int64_t cents = e->revenue; /* hundredths */
        r->revenue_day[day] += cents;
        r->orders_day[day]++;
        if (cp_slice_eq_lit(e->ctx.country, "US")) r->revenue_country[0] += cents;
        if (cp_slice_eq_lit(e->ctx.country, "DE")) r->revenue_country[1] += cents;
        /* revenue is the sum of the lines */
        int64_t sum = 0;
        for (uint32_t i = 0; i < e->n_products; i++)
            sum += e->products[i].price * e->products[i].quantity;
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

/* FNV-1a over every output of a run, each closed by a separator. */
static uint64_t hash_outputs(const capture *c)
{
    const cp_buf *parts[] = {&c->events, &c->customers, &c->purchases, &c->clicks, &c->truth};
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < 5; i++) {
        for (size_t k = 0; k < parts[i]->len; k++)
            h = (h ^ (unsigned char)parts[i]->ptr[k]) * 1099511628211ULL;
        h = (h ^ 0xFF) * 1099511628211ULL;
    }
    return h;
}

/* The standard profile's output is what it was before the messy profile existed: the
 * constants are the hashes the simulator gave for these runs before that change. */
static void test_standard_unchanged(void)
{
    static const struct {
        uint64_t seed;
        int64_t customers, days;
        cp_sim_format fmt;
        uint64_t hash;
    } runs[] = {
        {5, 300, 3, CP_SIM_JSONL, 0x2b2649f0ee5a7dacULL},
        {9, 200, 2, CP_SIM_BATCH, 0x1b24c2fbed5aadc9ULL},
    };
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        cp_sim_params p;
        capture c;
        params(&p, runs[i].seed, runs[i].fmt);
        p.customers = runs[i].customers;
        p.days = runs[i].days;
        run(&p, &c);
        uint64_t h = hash_outputs(&c);
        if (h != runs[i].hash) fprintf(stderr, "run %zu: hash 0x%016" PRIx64 "\n", i, h);
        CHECK(h == runs[i].hash);
        free_capture(&c);
    }
}

/* ---- the messy profile ---- */

static void messy_params(cp_sim_params *p, uint64_t seed, int64_t customers, int64_t days)
{
    cp_config c;
    cp_config_init(&c);
    cp_sim_params_from_config(&c, p);
    cp_config_free(&c);
    p->seed = seed;
    p->customers = customers;
    p->days = days;
    p->profile = CP_SIM_MESSY;
}

typedef struct line_ref {
    const char *p;
    size_t n;
} line_ref;

/* The output's lines, without their '\n'. */
static line_ref *split_lines(const cp_buf *b, size_t *n)
{
    size_t cap = 1024;
    line_ref *l = malloc(cap * sizeof(*l));
    *n = 0;
    for (const char *p = b->ptr, *end = b->ptr + b->len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        if (*n == cap) l = realloc(l, (cap *= 2) * sizeof(*l));
        l[(*n)++] = (line_ref){p, (size_t)(nl - p)};
        p = nl + 1;
    }
    return l;
}

static int has(line_ref l, const char *s)
{
    return memmem(l.p, l.n, s, strlen(s)) != NULL;
}

static int starts(line_ref l, const char *s)
{
    return l.n >= strlen(s) && memcmp(l.p, s, strlen(s)) == 0;
}

/* The text of "key":"…" in a line (the first one); NULL when absent. */
static const char *str_field(line_ref l, const char *key, size_t *len)
{
    char k[64];
    snprintf(k, sizeof(k), "\"%s\":\"", key);
    const char *p = memmem(l.p, l.n, k, strlen(k));
    if (!p) return NULL;
    p += strlen(k);
    const char *q = memchr(p, '"', (size_t)(l.p + l.n - p));
    if (!q) return NULL;
    *len = (size_t)(q - p);
    return p;
}

static uint64_t field_hash(line_ref l, const char *key)
{
    size_t n;
    const char *v = str_field(l, key, &n);
    return v ? fnv((cp_slice){v, n}) : 0;
}

static int field_time(line_ref l, const char *key, int64_t *ms)
{
    size_t n;
    const char *v = str_field(l, key, &n);
    return v && cp_time_parse(v, n, ms) == 0;
}

/* The event time as docs/events.md corrects it, for lines with all three times. */
static int event_time(line_ref l, int64_t *t)
{
    int64_t r, s, o;
    if (!field_time(l, "receivedAt", &r) || !field_time(l, "sentAt", &s) ||
        !field_time(l, "originalTimestamp", &o))
        return 0;
    *t = r - (s - o);
    return 1;
}

/* The standard profile's planted bad lines (cut, invalid UTF-8, impossible timestamp, no
 * identity): copies of events with another messageId. */
static int standard_bad(line_ref l)
{
    return !l.n || l.p[l.n - 1] != '}' || has(l, "2026-13-45") || has(l, "caf\xC3\x28") ||
           (!has(l, "\"anonymousId\"") && !has(l, "\"userId\""));
}

/* The text of "revenue": up to the next ',' or '}'. */
static const char *revenue_text(line_ref l, size_t *len)
{
    const char *p = memmem(l.p, l.n, "\"revenue\":", 10);
    if (!p) return NULL;
    p += 10;
    *len = strcspn(p, ",}");
    return p;
}

static uint64_t count_lines(const line_ref *l, size_t n, const char *a, const char *b)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++) c += has(l[i], a) && (!b || has(l[i], b));
    return c;
}

static uint64_t cases_num(const capture *c, const char *group, const char *name)
{
    char anchor[96];
    snprintf(anchor, sizeof(anchor), "\"%s\":{", group);
    double v = truth_num(c, anchor, name);
    return v < 0 ? UINT64_MAX : (uint64_t)v;
}

typedef struct mrec {
    uint64_t anon;
    int64_t time;
    uint8_t page;
} mrec;

static int by_anon_time(const void *a, const void *b)
{
    const mrec *x = a, *y = b;
    if (x->anon != y->anon) return x->anon < y->anon ? -1 : 1;
    return (x->time > y->time) - (x->time < y->time);
}

typedef struct timing {
    uint64_t gaps[3]; /* consecutive events of a device timeout - 1, timeout, timeout + 1 apart */
    uint64_t long_runs, midnight_runs; /* runs of gaps <= timeout: over 24 h, across midnight */
    uint64_t paces[7];                 /* devices matching each bot_pace pattern */
} timing;

/* Which bot_pace pattern a device's events match: pages and others, and the gaps between
 * consecutive pages. */
static int pace_of(int pages, int others, const int64_t *gaps)
{
    int n = pages - 1, all[4] = {1, 1, 1, 1}, alt[2] = {1, 1};
    static const int64_t same[4] = {2499, 2500, 2501, 1000};
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 4; k++) all[k] &= gaps[i] == same[k];
        alt[0] &= gaps[i] == (i % 2 ? 3900 : 1000);
        alt[1] &= gaps[i] == (i % 2 ? 4000 : 1100);
    }
    if (others == 1) return pages == 20 && all[3] ? 6 : -1;
    if (others) return -1;
    if (pages == 17) return alt[0] ? 0 : alt[1] ? 1 : -1;
    if (pages == 15) return all[0] ? 2 : all[1] ? 3 : all[2] ? 4 : -1;
    return pages == 14 && all[3] ? 5 : -1;
}

static void device_timing(const mrec *r, size_t n, int64_t timeout, timing *t)
{
    int64_t gaps[64];
    int pages = 0, others = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            int64_t g = r[i].time - r[i - 1].time;
            if (g >= timeout - 1 && g <= timeout + 1) t->gaps[g - timeout + 1]++;
        }
        if (!r[i].page) {
            others++;
            continue;
        }
        if (pages && pages <= 64) {
            size_t j = i;
            while (!r[--j].page) {
            }
            gaps[pages - 1] = r[i].time - r[j].time;
        }
        pages++;
    }
    if (pages >= 14 && pages <= 20) {
        int v = pace_of(pages, others, gaps);
        if (v >= 0) t->paces[v]++;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && r[j].time - r[j - 1].time <= timeout) j++;
        t->long_runs += r[j - 1].time - r[i].time > CP_MS_PER_DAY;
        t->midnight_runs += cp_day_of(r[j - 1].time) != cp_day_of(r[i].time);
        i = j;
    }
}

/* Timing of every device (anonymousId) from the lines with all three times; the same
 * event delivered twice counts once. */
static void messy_timing(const line_ref *l, size_t n, int64_t timeout, timing *t)
{
    mrec *r = malloc(n * sizeof(*r));
    size_t m = 0;
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        int64_t time;
        uint64_t anon = field_hash(l[i], "anonymousId");
        if (!anon || !event_time(l[i], &time)) continue;
        r[m++] = (mrec){anon, time, (uint8_t)starts(l[i], "{\"type\":\"page\"")};
    }
    qsort(r, m, sizeof(*r), by_anon_time);
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        if (!k || r[i].anon != r[k - 1].anon || r[i].time != r[k - 1].time) r[k++] = r[i];
    for (size_t i = 0; i < k;) {
        size_t j = i + 1;
        while (j < k && r[j].anon == r[i].anon) j++;
        device_timing(r + i, j - i, timeout, t);
        i = j;
    }
    free(r);
}

/* Byte-identical lines: pairs at least far apart, and closer pairs without messageId. */
typedef struct repeats {
    uint64_t far, far_without_received_at, near_without_id;
    uint64_t min_far;
} repeats;

static void find_repeats(const line_ref *l, size_t n, uint64_t far, repeats *out)
{
    size_t cap = 1;
    while (cap < 2 * n) cap *= 2;
    uint64_t *keys = calloc(cap, sizeof(*keys));
    size_t *at = calloc(cap, sizeof(*at));
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        uint64_t h = fnv((cp_slice){l[i].p, l[i].n});
        size_t s = h & (cap - 1);
        while (keys[s] && keys[s] != h) s = (s + 1) & (cap - 1);
        if (!keys[s]) {
            keys[s] = h;
            at[s] = i;
            continue;
        }
        const line_ref *o = &l[at[s]];
        CHECK(o->n == l[i].n && memcmp(o->p, l[i].p, o->n) == 0);
        uint64_t distance = i - at[s];
        if (distance >= far) {
            out->far++;
            out->far_without_received_at += !has(l[i], "\"receivedAt\"");
            if (!out->min_far || distance < out->min_far) out->min_far = distance;
        } else if (!has(l[i], "\"messageId\"")) {
            out->near_without_id++;
        } else {
            CHECK(!"a repeated line neither far apart nor without messageId");
        }
    }
    free(keys);
    free(at);
}

static int count_event(void *ud, const cp_event *e)
{
    (void)ud;
    (void)e;
    return 0;
}

static int count_reject(void *ud, const cp_reject *rej)
{
    ((uint64_t *)ud)[rej->reason]++;
    return 0;
}

/* Runs a messy simulation: its output, and the standard one for the same parameters. */
static void run_both(cp_sim_params *p, capture *messy, capture *standard)
{
    run(p, messy);
    p->profile = CP_SIM_STANDARD;
    run(p, standard);
    p->profile = CP_SIM_MESSY;
}

/* The messy output is the standard one with lines added: the standard lines come in the
 * same order, byte for byte, and the figures kept in truth.json are the standard ones. */
static void test_messy_adds_to_standard(void)
{
    cp_sim_params p;
    capture m, s, again;
    messy_params(&p, 13, 700, 5);
    run_both(&p, &m, &s);
    run(&p, &again);
    CHECK(cp_slice_eq(cp_buf_slice(&m.events), cp_buf_slice(&again.events)));
    CHECK(cp_slice_eq(cp_buf_slice(&m.truth), cp_buf_slice(&again.truth)));
    size_t nm, ns, j = 0;
    line_ref *lm = split_lines(&m.events, &nm), *ls = split_lines(&s.events, &ns);
    for (size_t i = 0; i < nm && j < ns; i++)
        j += lm[i].n == ls[j].n && memcmp(lm[i].p, ls[j].p, lm[i].n) == 0;
    CHECK_INT(j, ns);
    CHECK_INT(nm - ns, truth_num(&m, "\"planted\":{", "events"));
    CHECK(nm - ns > 1000);
    CHECK_INT(nm, truth_num(&m, "\"totals\"", "lines"));
    const char *head = "{\n  \"profile\":\"messy\",\n  \"params\":";
    CHECK(strncmp(m.truth.ptr, head, strlen(head)) == 0);
    CHECK_INT(truth_num(&m, "\"totals\"", "signups"), truth_num(&s, "\"totals\"", "signups"));
    char date[11], anchor[64];
    date[cp_date_format(p.start_day + 3, date)] = 0;
    snprintf(anchor, sizeof(anchor), "{\"date\":\"%s\"", date);
    CHECK_INT(truth_num(&m, anchor, "signups"), truth_num(&s, anchor, "signups"));
    const char *pm = strstr(m.truth.ptr, "\"persona_counts\""),
               *ps = strstr(s.truth.ptr, "\"persona_counts\"");
    CHECK(pm && ps && strcmp(pm, ps) == 0);
    CHECK(!strstr(m.truth.ptr, "\"by_kind\":{") && !strstr(m.truth.ptr, "\"revenue\":"));
    /* Planted lines are all well-formed JSON: the decoder finds only the standard bad lines. */
    uint64_t rejects[CP_REJECT__COUNT] = {0};
    cp_decode_options o;
    cp_decode_options_default(&o);
    o.trust_received_at = true;
    o.received_at_ms = (p.start_day + p.days) * CP_MS_PER_DAY;
    cp_event_decoder *d =
        cp_event_decoder_new(&o, (cp_decode_sink){rejects, count_event, count_reject});
    CHECK(cp_event_decoder_feed(d, m.events.ptr, m.events.len) == 0);
    CHECK(cp_event_decoder_finish(d) == 0);
    cp_event_decoder_free(d);
    CHECK_INT(rejects[CP_REJECT_NOT_JSON], truth_num(&s, "\"rejects_by_reason\"", "not_json"));
    CHECK_INT(rejects[CP_REJECT_INVALID_UTF8],
              truth_num(&s, "\"rejects_by_reason\"", "invalid_utf8"));
    free(lm);
    free(ls);
    free_capture(&m);
    free_capture(&s);
    free_capture(&again);
}

/* Every case is there, as often as truth.json's "cases" says, read from the lines alone. */
/* One messy run shared by the tests of its cases (running the simulator is the costly part):
 * long enough for far re-deliveries 60,001 lines apart. */
static struct {
    cp_sim_params p;
    capture c;
    line_ref *l;
    size_t n;
    repeats rep;
} messy;

static void messy_once(void)
{
    if (messy.l) return;
    messy_params(&messy.p, 21, 1500, 14);
    run(&messy.p, &messy.c);
    messy.l = split_lines(&messy.c.events, &messy.n);
    CHECK(messy.n > 80000);
    find_repeats(messy.l, messy.n, 60001, &messy.rep);
}

static const char *const oc = "\"event\":\"Order Completed\"";

/* Every variant of every messy case is there, several times. */
static void test_messy_counts(void)
{
    messy_once();
    capture c = messy.c;
    const char *cases = strstr(c.truth.ptr, "\"cases\":{"),
               *end = cases ? strstr(cases, "\n  },\n") : NULL;
    CHECK(cases && end);
    int counted = 0;
    for (const char *q = cases; q && (q = strstr(q, "\":")) && q < end; q += 2) {
        if (q[2] < '0' || q[2] > '9') continue;
        counted++;
        if (strtod(q + 2, NULL) < 5) {
            fprintf(stderr, "a rare case: %.60s\n", q - 40);
            CHECK(0);
        }
    }
    CHECK(counted >= 50);
}

/* Gaps at the session timeout, sessions over 24 hours and across midnight, bot paces. */
static void test_messy_timing(void)
{
    messy_once();
    capture c = messy.c;
    cp_sim_params p = messy.p;
    line_ref *l = messy.l;
    size_t n = messy.n;
    timing t;
    messy_timing(l, n, p.session_timeout_ms, &t);
    CHECK_INT(t.gaps[1], cases_num(&c, "session_gaps", "exactly_timeout"));
    CHECK_INT(t.gaps[0], cases_num(&c, "session_gaps", "1ms_under_timeout"));
    CHECK_INT(t.gaps[2], cases_num(&c, "session_gaps", "1ms_over_timeout"));
    CHECK_INT(t.long_runs, cases_num(&c, "long_sessions", "over_24h"));
    CHECK_INT(t.midnight_runs, cases_num(&c, "midnight", "sessions_across_midnight") +
                                   cases_num(&c, "long_sessions", "over_24h"));
    static const char *const paces[7] = {"17_pages_gaps_1000_3900ms",
                                         "17_pages_gaps_1100_4000ms",
                                         "15_pages_gaps_2499ms",
                                         "15_pages_gaps_2500ms",
                                         "15_pages_gaps_2501ms",
                                         "14_pages_gaps_1000ms",
                                         "20_pages_gaps_1000ms_and_a_product_view"};
    for (int i = 0; i < 7; i++) CHECK_INT(t.paces[i], cases_num(&c, "bot_pace", paces[i]));
}

/* Lines without receivedAt or sentAt, skewed clocks. */
static void test_messy_timestamps(void)
{
    messy_once();
    capture c = messy.c;
    line_ref *l = messy.l;
    size_t n = messy.n;
    repeats rep = messy.rep;
    uint64_t no_recv = 0, no_sent = 0;
    for (size_t i = 0; i < n; i++) {
        if (!l[i].n || l[i].p[l[i].n - 1] != '}' || has(l[i], "2026-13-45")) continue;
        no_recv += !has(l[i], "\"receivedAt\"");
        no_sent += !has(l[i], "\"sentAt\"");
    }
    CHECK_INT(no_recv,
              cases_num(&c, "planted", "without_received_at") + rep.far_without_received_at);
    CHECK_INT(no_sent, cases_num(&c, "planted", "without_sent_at"));
    CHECK(cases_num(&c, "clock_skew", "skewed_devices") > 50);
}

/* Far re-deliveries byte for byte, messages without messageId sent twice or reordered. */
static void test_messy_redeliveries(void)
{
    messy_once();
    capture c = messy.c;
    line_ref *l = messy.l;
    size_t n = messy.n;
    repeats rep = messy.rep;
    CHECK_INT(rep.far, cases_num(&c, "far_redeliveries", "with_received_at") +
                           cases_num(&c, "far_redeliveries", "without_received_at"));
    CHECK_INT(rep.far_without_received_at,
              cases_num(&c, "far_redeliveries", "without_received_at"));
    CHECK_INT(rep.min_far, 60001);
    CHECK_INT(cases_num(&c, "far_redeliveries", "min_distance_lines"), 60001);
    CHECK(rep.far >= 20);
    CHECK_INT(rep.near_without_id, cases_num(&c, "bad_messages", "no_message_id_sent_twice"));
    CHECK_INT(count_lines(l, n, "\"type\":\"track\",\"name\":\"", NULL),
              cases_num(&c, "bad_messages", "track_with_name_not_event"));
    /* the same message with its members in reverse order: the same bytes, another order */
    uint64_t reordered = 0, matched = 0;
    for (size_t i = 0; i < n; i++) {
        if (!starts(l[i], "{\"receivedAt\"")) continue;
        reordered++;
        for (size_t j = i > 2000 ? i - 2000 : 0; j < i; j++) {
            if (l[j].n != l[i].n || has(l[j], "\"messageId\"") || !starts(l[j], "{\"type\""))
                continue;
            unsigned hist[256] = {0};
            for (size_t k = 0; k < l[i].n; k++) hist[(unsigned char)l[i].p[k]]++;
            for (size_t k = 0; k < l[j].n; k++) hist[(unsigned char)l[j].p[k]]--;
            int same = 1;
            for (int k = 0; k < 256; k++) same &= hist[k] == 0;
            if (same && field_hash(l[i], "anonymousId") == field_hash(l[j], "anonymousId")) {
                matched++;
                break;
            }
        }
    }
    CHECK_INT(reordered, cases_num(&c, "bad_messages", "no_message_id_field_order"));
    CHECK_INT(matched, reordered);
}

/* Amounts as written in Order Completed: strings, mixed and exponent forms, edges, currencies. */
static void test_messy_amounts(void)
{
    messy_once();
    capture c = messy.c;
    line_ref *l = messy.l;
    size_t n = messy.n;
    CHECK_INT(count_lines(l, n, oc, "\"revenue\":\""),
              cases_num(&c, "number_forms", "orders_as_strings") +
                  cases_num(&c, "number_forms", "orders_mixed_forms") +
                  cases_num(&c, "number_forms", "orders_with_trailing_zeros") +
                  cases_num(&c, "edge_amounts", "zero_string") +
                  cases_num(&c, "edge_amounts", "negative_string") +
                  cases_num(&c, "edge_amounts", "decimal_18_2_max_string") +
                  cases_num(&c, "edge_amounts", "sub_cent_string"));
    CHECK_INT(count_lines(l, n, oc, "\"quantity\":\""),
              cases_num(&c, "number_forms", "orders_as_strings") +
                  cases_num(&c, "number_forms", "orders_mixed_forms"));
    CHECK_INT(count_lines(l, n, oc, "\"revenue\":\"9999999999999999.99\""),
              cases_num(&c, "edge_amounts", "decimal_18_2_max_string"));
    CHECK_INT(count_lines(l, n, oc, "\"revenue\":4503599627370495.5,"),
              cases_num(&c, "edge_amounts", "large_exact_double"));
    CHECK_INT(count_lines(l, n, oc, "\"revenue\":1e16,"),
              cases_num(&c, "edge_amounts", "too_large"));
    CHECK_INT(count_lines(l, n, oc, "\"revenue\":\"0.001\""),
              cases_num(&c, "edge_amounts", "sub_cent_string"));
    CHECK_INT(count_lines(l, n, oc, "\"revenue\":-19.99,"),
              cases_num(&c, "edge_amounts", "negative"));
    CHECK_INT(count_lines(l, n, oc, "\"revenue\":0,"), cases_num(&c, "edge_amounts", "zero"));
    uint64_t trailing = 0, exponent = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *rev = revenue_text(l[i], &len);
        if (!rev || !has(l[i], oc) || standard_bad(l[i])) continue;
        const char *dot = memchr(rev, '.', len);
        trailing += rev[0] == '"' && dot && rev + len - dot == 5 && dot[3] == '0';
        exponent += rev[0] != '"' && (memchr(rev, 'e', len) || memchr(rev, 'E', len));
    }
    CHECK_INT(trailing, cases_num(&c, "number_forms", "orders_with_trailing_zeros"));
    CHECK_INT(exponent, cases_num(&c, "number_forms", "orders_in_exponent_form") +
                            cases_num(&c, "edge_amounts", "too_large"));
    static const char *const cur[5] = {"USD", "EUR", "GBP", "JPY", "XTS"};
    for (int i = 1; i < 5; i++) {
        char want[32];
        snprintf(want, sizeof(want), "\"currency\":\"%s\"", cur[i]);
        CHECK_INT(count_lines(l, n, oc, want), cases_num(&c, "currencies", cur[i]));
    }
    for (size_t i = 0; i < n; i++) /* yen without decimals */
        if (has(l[i], oc) && has(l[i], "\"currency\":\"JPY\"")) {
            size_t len;
            const char *rev = memmem(l[i].p, l[i].n, "\"revenue\":", 10);
            CHECK(rev && (len = strspn(rev + 10, "0123456789")) > 0 && rev[10 + len] == ',');
        }
}

/* Refunds of earlier orders, orders sent twice, anonymous orders identified later. */
static void test_messy_orders(void)
{
    messy_once();
    capture c = messy.c;
    line_ref *l = messy.l;
    size_t n = messy.n;
    size_t cap = 1 << 16;
    uint64_t *orders = calloc(cap, sizeof(uint64_t)), *first_id = calloc(cap, sizeof(uint64_t));
    uint8_t *twice = calloc(cap, 1);
    uint64_t *anon_orders = calloc(cap, sizeof(uint64_t));
    uint64_t refunds = 0, refunds_found = 0, orders_twice = 0, identified_later = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t order = field_hash(l[i], "order_id");
        if (standard_bad(l[i])) continue;
        if (has(l[i], "\"event\":\"Order Refunded\"")) {
            refunds++;
            size_t s = order & (cap - 1);
            while (orders[s] && orders[s] != order) s = (s + 1) & (cap - 1);
            refunds_found += orders[s] == order;
        } else if (has(l[i], oc)) {
            size_t s = order & (cap - 1);
            while (orders[s] && orders[s] != order) s = (s + 1) & (cap - 1);
            uint64_t id = field_hash(l[i], "messageId");
            if (!orders[s]) {
                orders[s] = order;
                first_id[s] = id;
            } else if (first_id[s] != id && !twice[s]) {
                twice[s] = 1;
                orders_twice++;
            }
            if (!has(l[i], "\"userId\""))
                set_add(anon_orders, cap, field_hash(l[i], "anonymousId"));
        } else if (starts(l[i], "{\"type\":\"identify\"") && has(l[i], "\"userId\"")) {
            uint64_t a = field_hash(l[i], "anonymousId");
            size_t s = a & (cap - 1);
            while (anon_orders[s] && anon_orders[s] != a) s = (s + 1) & (cap - 1);
            if (anon_orders[s] == a) {
                identified_later++;
                anon_orders[s] = 1; /* counted once */
            }
        }
    }
    CHECK_INT(refunds, cases_num(&c, "refunds", "whole_by_revenue") +
                           cases_num(&c, "refunds", "whole_by_total") +
                           cases_num(&c, "refunds", "by_products"));
    CHECK_INT(refunds_found, refunds);
    CHECK_INT(count_lines(l, n, "\"event\":\"Order Refunded\"", "\"products\":["),
              cases_num(&c, "refunds", "by_products"));
    CHECK_INT(orders_twice, cases_num(&c, "orders_twice", "same_amounts_seconds_apart") +
                                cases_num(&c, "orders_twice", "different_amounts_minutes_apart") +
                                cases_num(&c, "orders_twice", "same_amounts_hours_apart"));
    CHECK_INT(identified_later, cases_num(&c, "anonymous_checkouts", "identified_later"));
    free(orders);
    free(first_id);
    free(twice);
    free(anon_orders);
}

/* User agents only planted devices have, one device each. */
static void test_messy_agents(void)
{
    messy_once();
    capture c = messy.c;
    line_ref *l = messy.l;
    size_t n = messy.n;
    size_t cap = 1 << 16;
    static const struct {
        const char *ua, *name;
    } agents[] = {{"\"userAgent\":\"Scrapy/2.11", "scrapy"},
                  {"\"userAgent\":\"curl/8.4.0\"", "curl"},
                  {"Cubot KingKong", "browser_cubot_phone"},
                  {"BotanicGardenKiosk", "browser_botanic_kiosk"}};
    for (size_t a = 0; a < sizeof(agents) / sizeof(agents[0]); a++) {
        uint64_t *devices = calloc(cap, sizeof(uint64_t)), distinct = 0;
        for (size_t i = 0; i < n; i++)
            if (has(l[i], agents[a].ua))
                distinct += (uint64_t)set_add(devices, cap, field_hash(l[i], "anonymousId"));
        CHECK_INT(distinct, cases_num(&c, "bot_agents", agents[a].name));
        free(devices);
    }
}

static void test_messy_end(void)
{
    free(messy.l);
    free_capture(&messy.c);
}

/* An output too short for 60,001 lines: the far re-deliveries come at its end, from its
 * first half. */
static void test_messy_far_in_short_output(void)
{
    cp_sim_params p;
    capture c;
    messy_params(&p, 4, 400, 4);
    run(&p, &c);
    size_t n;
    line_ref *l = split_lines(&c.events, &n);
    CHECK(n < 60001);
    uint64_t want = cases_num(&c, "far_redeliveries", "with_received_at") +
                    cases_num(&c, "far_redeliveries", "without_received_at");
    CHECK(want >= 3);
    repeats rep;
    find_repeats(l, n, (n - want) / 2, &rep);
    CHECK_INT(rep.far, want);
    CHECK(rep.min_far >= (n - want) / 2);
    CHECK_INT(rep.min_far, cases_num(&c, "far_redeliveries", "min_distance_lines"));
    free(l);
    free_capture(&c);
}

int main(void)
{
    RUN(test_standard_unchanged);
    RUN(test_deterministic);
    RUN(test_signup_rate);
    RUN(test_utc_offset);
    RUN(test_large_properties);
    RUN(test_truth_jsonl);
    RUN(test_truth_batches);
    RUN(test_personas);
    RUN(test_messy_adds_to_standard);
    RUN(test_messy_counts);
    RUN(test_messy_timing);
    RUN(test_messy_timestamps);
    RUN(test_messy_redeliveries);
    RUN(test_messy_amounts);
    RUN(test_messy_orders);
    RUN(test_messy_agents);
    RUN(test_messy_end);
    RUN(test_messy_far_in_short_output);
    TEST_END();
}

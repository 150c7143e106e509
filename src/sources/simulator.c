/* The simulator's driver: day by day it generates every customer's sessions
 * (sim_model.c), decides how each event is delivered — flush delays, late
 * sessions, retried duplicates, planted bad lines — adds the messy profile's
 * cases (sim_messy.c), sorts the day by receive time, writes events and CSV
 * rows in that order, and carries what arrives after midnight into the next
 * day. Ground truth is kept as it goes. */
#include "sim_truth.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLUSH_BYTES (1u << 20)
/* A far re-delivery (CASE_FAR) comes this many lines after its original. */
#define FAR_LINES 60001

/* A planted line kept to be delivered again far later; its bytes are in far_bytes. */
typedef struct far_copy {
    uint64_t line; /* its line number */
    size_t off;
    uint32_t len;
    uint8_t received_at; /* it carries receivedAt */
} far_copy;

typedef struct sink_buf {
    cp_buf b;
    int (*fn)(void *ud, const char *buf, size_t len);
    size_t n_events;
} sink_buf;

typedef struct sim_run {
    const cp_sim_params *p;
    const cp_sim_output *out;
    cp_sim_stats *stats;
    sim_catalog cat;
    sim_truth truth;
    sim_day day;
    sim_ev *carry;
    size_t n_carry, cap_carry;
    sim_line *carry_lines;
    size_t n_carry_lines, cap_carry_lines;
    cp_buf events, purchases, clicks;
    size_t batch_open; /* events in the current batch envelope */
    size_t pending_events;
    int64_t max_time; /* watermark source: max event time of accepted events so far */
    int64_t pace_start_ns;
    uint64_t paced;
    sim_customer *people;
    uint64_t *sort_keys, *sort_tmp; /* (receive offset << 32 | seq) and record index */
    uint32_t *order, *order_tmp;
    uint32_t *radix_count; /* 65536 buckets */
    size_t sort_cap;
    sim_ev *sorted;
    sim_messy messy; /* the messy profile's state */
    far_copy *far;   /* lines waiting to be delivered again, oldest first from far_head */
    size_t far_head, far_n, far_cap;
    cp_buf far_bytes;
} sim_run;

/* Profiles are kept in memory up to this many customers (about 40 bytes each). */
#define PEOPLE_CACHE_MAX 16000000

void cp_sim_params_from_config(const cp_config *c, cp_sim_params *p)
{
    memset(p, 0, sizeof(*p));
    p->seed = (uint64_t)c->simulator_seed;
    p->customers = c->simulator_customers;
    p->days = c->simulator_days;
    p->start_day = c->simulator_start;
    p->products = c->simulator_products;
    p->format = (cp_sim_format)c->simulator_format;
    p->batch_size = c->simulator_batch_size;
    p->rate = c->simulator_rate;
    p->duplicate_rate = c->simulator_duplicate_rate;
    p->late_rate = c->simulator_late_rate;
    p->skew_rate = c->simulator_skew_rate;
    p->malformed_rate = c->simulator_malformed_rate;
    p->bot_rate = c->simulator_bot_rate;
    p->signup_rate = c->simulator_signup_rate;
    p->utc_offset = (int)c->simulator_utc_offset;
    p->large_rate = c->simulator_large_properties;
    p->allowed_lateness_ms = c->pipeline_allowed_lateness_ms;
    p->session_timeout_ms = c->pipeline_session_timeout_ms;
    p->shift_rate = c->simulator_shift_rate;
    p->shift_from = c->simulator_shift_from;
    p->shift_to = c->simulator_shift_to;
    p->shift_day = c->simulator_shift_day;
    p->profile = (cp_sim_profile)c->simulator_profile;
}

/* Flush delays, and whole sessions delivered late (an app that was offline). */
static void deliver(sim_run *r, size_t from, size_t to)
{
    const cp_sim_params *p = r->p;
    sim_ev *ev = r->day.ev;
    for (size_t i = from; i < to; i++) {
        sim_ev *e = &ev[i];
        uint64_t skey =
            ((uint64_t)e->cust << 8 | e->session) ^ (e->flags & EVF_BOT ? 1ULL << 60 : 0);
        uint64_t h = sim_hash(p->seed, 40, skey, (uint64_t)r->day.day);
        int64_t late =
            sim_hash_unit(h) < p->late_rate
                ? 10 * CP_MS_PER_MIN + (int64_t)((h >> 8) % (uint64_t)(6 * CP_MS_PER_HOUR))
                : 0;
        e->sent_ms = e->time_ms + 50 + (int64_t)(sim_hash(p->seed, 41, e->seq, 0) % 3000) + late;
        e->recv_ms = e->sent_ms;
    }
}

/* Retried deliveries and planted bad lines, appended after the day's originals. */
static int add_mess(sim_run *r, size_t from, size_t to)
{
    static const cp_reject_reason kinds[] = {CP_REJECT_NOT_JSON, CP_REJECT_INVALID_UTF8,
                                             CP_REJECT_WRONG_TYPE, CP_REJECT_BAD_TIMESTAMP,
                                             CP_REJECT_MISSING_IDENTITY};
    const cp_sim_params *p = r->p;
    for (size_t i = from; i < to; i++) {
        uint64_t h = sim_hash(p->seed, 42, r->day.ev[i].seq, 0);
        if (sim_hash_unit(h) < p->duplicate_rate) {
            sim_ev *c = sim_day_push(&r->day);
            if (!c) return CP_ENOMEM;
            uint32_t seq = c->seq;
            *c = r->day.ev[i];
            c->seq = seq;
            c->flags |= EVF_DUP;
            c->recv_ms += 1000 + (int64_t)((h >> 20) % 59000);
            r->truth.duplicates++;
        }
        uint64_t g = sim_hash(p->seed, 43, r->day.ev[i].seq, 0);
        if (sim_hash_unit(g) < p->malformed_rate) {
            sim_ev *c = sim_day_push(&r->day);
            if (!c) return CP_ENOMEM;
            uint32_t seq = c->seq;
            *c = r->day.ev[i];
            c->seq = seq;
            cp_reject_reason why = kinds[(g >> 20) % 5];
            c->broken = (uint8_t)(why + 1);
            c->recv_ms += 1;
            r->truth.rejects[why]++;
        }
    }
    return CP_OK;
}

static int grow_sort(sim_run *r, size_t n)
{
    if (n <= r->sort_cap) return CP_OK;
    size_t cap = n + n / 2;
    uint64_t *k = cp_reallocarray(r->sort_keys, cap, 8), *kt;
    if (!k) return CP_ENOMEM;
    r->sort_keys = k;
    if (!(kt = cp_reallocarray(r->sort_tmp, cap, 8))) return CP_ENOMEM;
    r->sort_tmp = kt;
    uint32_t *o = cp_reallocarray(r->order, cap, 4), *ot;
    if (!o) return CP_ENOMEM;
    r->order = o;
    if (!(ot = cp_reallocarray(r->order_tmp, cap, 4))) return CP_ENOMEM;
    r->order_tmp = ot;
    if (!r->radix_count && !(r->radix_count = cp_calloc(65536, sizeof(uint32_t)))) return CP_ENOMEM;
    sim_ev *sv = cp_reallocarray(r->sorted, cap, sizeof(sim_ev));
    if (!sv) return CP_ENOMEM;
    r->sorted = sv;
    r->sort_cap = cap;
    return CP_OK;
}

/* Orders the day by (receive time, sequence): an LSD radix sort of 64-bit keys,
 * four passes of 16 bits, moving 4-byte indices rather than whole records. */
static int sort_day(sim_run *r)
{
    sim_day *d = &r->day;
    size_t n = d->n;
    if (grow_sort(r, n)) return CP_ENOMEM;
    int64_t base = d->day * CP_MS_PER_DAY;
    for (size_t i = 0; i < n; i++) {
        r->sort_keys[i] = (uint64_t)(d->ev[i].recv_ms - base) << 32 | d->ev[i].seq;
        r->order[i] = (uint32_t)i;
    }
    uint32_t *count = r->radix_count;
    uint64_t *k = r->sort_keys, *kt = r->sort_tmp;
    uint32_t *o = r->order, *ot = r->order_tmp;
    for (int pass = 0; pass < 4; pass++) {
        int shift = pass * 16;
        memset(count, 0, 65536 * sizeof(uint32_t));
        for (size_t i = 0; i < n; i++) count[(k[i] >> shift) & 0xFFFF]++;
        uint32_t sum = 0;
        for (size_t b = 0; b < 65536; b++) {
            uint32_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t pos = count[(k[i] >> shift) & 0xFFFF]++;
            kt[pos] = k[i];
            ot[pos] = o[i];
        }
        uint64_t *tk = k;
        k = kt;
        kt = tk;
        uint32_t *to = o;
        o = ot;
        ot = to;
    }
    for (size_t i = 0; i < n; i++) r->sorted[i] = d->ev[o[i]];
    memcpy(d->ev, r->sorted, n * sizeof(sim_ev));
    return CP_OK;
}

static int flush(sim_run *r, cp_buf *b, int (*fn)(void *, const char *, size_t))
{
    if (!b->len || !fn) return CP_OK;
    int rc = fn(r->out->ud, b->ptr, b->len);
    cp_buf_reset(b);
    return rc;
}

static void pace(sim_run *r, uint64_t n)
{
    if (r->p->rate <= 0) return;
    r->paced += n;
    int64_t due = r->pace_start_ns + (int64_t)((double)r->paced / r->p->rate * 1e9);
    int64_t now = cp_mono_ns();
    if (due > now) {
        struct timespec ts = {(time_t)((due - now) / 1000000000), (long)((due - now) % 1000000000)};
        nanosleep(&ts, NULL);
    }
}

static int flush_events(sim_run *r)
{
    if (!r->events.len) return CP_OK;
    if (r->batch_open) {
        if (cp_buf_append_str(&r->events, "],\"context\":{\"library\":{\"name\":\"analytics.js\","
                                          "\"version\":\"5.2.1\"}}}\n"))
            return CP_ENOMEM;
        r->batch_open = 0;
    }
    r->stats->bytes += r->events.len;
    int rc = r->out->events
                 ? r->out->events(r->out->ud, r->events.ptr, r->events.len, r->pending_events)
                 : 0;
    cp_buf_reset(&r->events);
    pace(r, r->pending_events);
    r->pending_events = 0;
    return rc;
}

static void far_compact(sim_run *r)
{
    if (r->far_head == r->far_n) {
        r->far_head = r->far_n = 0;
        cp_buf_reset(&r->far_bytes);
        return;
    }
    if (r->far_head < 256 || r->far_head * 2 < r->far_n) return;
    size_t base = r->far[r->far_head].off;
    memmove(r->far_bytes.ptr, r->far_bytes.ptr + base, r->far_bytes.len - base);
    r->far_bytes.len -= base;
    r->far_n -= r->far_head;
    memmove(r->far, r->far + r->far_head, r->far_n * sizeof(far_copy));
    r->far_head = 0;
    for (size_t i = 0; i < r->far_n; i++) r->far[i].off -= base;
}

/* Writes a kept line again, as a line of its own. */
static int write_far_copy(sim_run *r, const far_copy *c)
{
    if (r->batch_open) {
        int rc = flush_events(r);
        if (rc) return rc;
    }
    if (cp_buf_append(&r->events, r->far_bytes.ptr + c->off, c->len)) return CP_ENOMEM;
    r->stats->lines++;
    r->stats->planted++;
    r->pending_events++;
    uint64_t *m = r->truth.messy;
    uint64_t distance = r->stats->lines - c->line;
    m[c->received_at ? M_FAR_RECV : M_FAR_NO_RECV]++;
    if (!m[M_FAR_MIN] || distance < m[M_FAR_MIN]) m[M_FAR_MIN] = distance;
    if (distance > m[M_FAR_MAX]) m[M_FAR_MAX] = distance;
    return r->events.len >= FLUSH_BYTES ? flush_events(r) : CP_OK;
}

/* Writes the kept lines due before the next line: each right before line L + FAR_LINES. */
static int write_far_copies(sim_run *r)
{
    while (r->far_head < r->far_n && r->far[r->far_head].line + FAR_LINES <= r->stats->lines + 1) {
        int rc = write_far_copy(r, &r->far[r->far_head++]);
        if (rc) return rc;
    }
    far_compact(r);
    return CP_OK;
}

static int keep_far(sim_run *r, const char *line, size_t len, int received_at)
{
    if (cp_grow((void **)&r->far, &r->far_cap, r->far_n + 1, sizeof(far_copy))) return CP_ENOMEM;
    r->far[r->far_n++] =
        (far_copy){r->stats->lines, r->far_bytes.len, (uint32_t)len, (uint8_t)received_at};
    return cp_buf_append(&r->far_bytes, line, len);
}

/* At the end of the output: when it was too short for any kept line to come FAR_LINES
 * after its original, those of its first half are delivered again at its end (at least
 * half the output apart); otherwise the kept lines not yet due are not. */
static int far_finish(sim_run *r)
{
    int rc = CP_OK;
    uint64_t lines = r->stats->lines;
    if (!r->truth.messy[M_FAR_RECV] && !r->truth.messy[M_FAR_NO_RECV])
        for (size_t i = r->far_head; i < r->far_n && !rc && r->far[i].line * 2 <= lines; i++)
            rc = write_far_copy(r, &r->far[i]);
    r->far_head = r->far_n = 0;
    return rc;
}

static int write_event_line(sim_run *r, const sim_ev *e)
{
    int batch = r->p->format == CP_SIM_BATCH && !e->broken && !(e->mflags & MF_LINE);
    if ((!batch || !r->batch_open) && r->far_head < r->far_n) { /* a line starts here */
        int rc = write_far_copies(r);
        if (rc) return rc;
    }
    if (cp_buf_reserve(&r->events, SIM_MAX_EVENT_BYTES + 64)) return CP_ENOMEM;
    if (!batch && r->batch_open) {
        int rc = flush_events(r);
        if (rc) return rc;
    }
    if (batch) {
        if (r->batch_open)
            cp_buf_putc(&r->events, ',');
        else {
            CP_BUF_PUT_LIT(&r->events, "{\"batch\":[");
            r->stats->lines++;
        }
        r->batch_open++;
    } else {
        r->stats->lines++;
    }
    char *at = r->events.ptr + r->events.len;
    size_t n = e->mess     ? sim_messy_format(r->p, &r->cat, &r->day, e, batch, at)
               : e->broken ? sim_format_broken(r->p, &r->cat, &r->day, e, at)
                           : sim_format_event(r->p, &r->cat, &r->day, e, batch, at);
    r->events.len += n;
    if (!batch) cp_buf_putc(&r->events, '\n');
    if ((e->mflags & MF_FAR) && keep_far(r, at, n + 1, !(e->mflags & MF_NO_RECEIVED_AT)))
        return CP_ENOMEM;
    r->pending_events++;
    if ((batch && r->batch_open >= (size_t)r->p->batch_size) || r->events.len >= FLUSH_BYTES ||
        (r->p->rate > 0 && r->pending_events >= (size_t)(r->p->rate / 20 + 1)))
        return flush_events(r);
    return CP_OK;
}

static const char *const click_types[] = {
#define X(id, s, spec) s,
    CP_EVENT_KINDS(X)
#undef X
};

static int write_csv_rows(sim_run *r, const sim_ev *e)
{
    const cp_sim_params *p = r->p;
    char *o;
    if (r->out->clickstream_csv) {
        if (cp_buf_reserve(&r->clicks, 256)) return CP_ENOMEM;
        o = r->clicks.ptr + r->clicks.len;
        o += e->flags & EVF_USER ? sim_format_customer_id(e->cust, o)
                                 : sim_format_anonymous_id(p, e, o);
        *o++ = ',';
        o += sim_format_session_id(p, e, o);
        memcpy(o, ",https://shop.example.com", 25);
        o += 25;
        o += sim_format_page_path(&r->cat, e, o);
        *o++ = ',';
        size_t n = strlen(click_types[e->kind]);
        memcpy(o, click_types[e->kind], n);
        o += n;
        *o++ = ',';
        if (e->page_type == PAGE_PRODUCT && !(e->flags & EVF_BOT)) {
            *o++ = 'p';
            uint32_t v = e->item;
            for (int i = 5; i >= 0; i--) o[i] = (char)('0' + v % 10), v /= 10;
            o += 6;
        }
        *o++ = ',';
        o += cp_time_format(e->time_ms, o);
        *o++ = '\n';
        r->clicks.len = (size_t)(o - r->clicks.ptr);
        if (r->clicks.len > FLUSH_BYTES) {
            int rc = flush(r, &r->clicks, r->out->clickstream_csv);
            if (rc) return rc;
        }
    }
    if (e->kind != CP_KIND_ORDER_COMPLETED) return CP_OK;
    r->stats->orders++;
    for (unsigned i = 0; i < e->n_lines; i++) {
        const sim_line *l = &r->day.lines[e->lines_off + i];
        uint32_t price = r->cat.items[l->product].price_cents;
        r->stats->revenue_cents += (int64_t)price * l->qty;
        if (!r->out->purchases_csv) continue;
        if (cp_buf_reserve(&r->purchases, 160)) return CP_ENOMEM;
        o = r->purchases.ptr + r->purchases.len;
        memcpy(o, "ord_", 4);
        uint64_t h =
            sim_hash(p->seed, 27, e->cust, (uint64_t)cp_day_of(e->time_ms) * 16 + e->session);
        for (int k = 0; k < 16; k++) o[4 + k] = "0123456789abcdef"[(h >> (60 - 4 * k)) & 15];
        o += 20;
        *o++ = ',';
        o += sim_format_customer_id(e->cust, o);
        *o++ = ',';
        *o++ = 'p';
        uint32_t v = l->product;
        for (int k = 5; k >= 0; k--) o[k] = (char)('0' + v % 10), v /= 10;
        o += 6;
        *o++ = ',';
        o += cp_fmt_u64(o, l->qty);
        *o++ = ',';
        o += cp_fmt_cents(o, price);
        *o++ = ',';
        o += cp_fmt_cents(o, (int64_t)price * l->qty);
        *o++ = ',';
        o += cp_time_format(e->time_ms, o);
        *o++ = '\n';
        r->purchases.len = (size_t)(o - r->purchases.ptr);
    }
    if (r->purchases.len > FLUSH_BYTES) return flush(r, &r->purchases, r->out->purchases_csv);
    return CP_OK;
}

/* Writes one delivered record, and for accepted events applies the watermark rule. */
static int emit(sim_run *r, const sim_ev *e)
{
    int rc = write_event_line(r, e);
    if (!rc && e->mess) r->stats->planted++; /* the messy profile's: no standard truth */
    if (rc || e->broken || (e->flags & EVF_DUP) || e->mess) return rc;
    r->stats->events++;
    if (e->time_ms < r->max_time - r->p->allowed_lateness_ms) {
        r->truth.late++;
        r->truth.days[cp_day_of(e->time_ms) - r->p->start_day].late++;
    }
    if (e->time_ms > r->max_time) r->max_time = e->time_ms;
    return write_csv_rows(r, e);
}

static int push_carry(sim_run *r, const sim_ev *e)
{
    if (cp_grow((void **)&r->carry, &r->cap_carry, r->n_carry + 1, sizeof(sim_ev)))
        return CP_ENOMEM;
    sim_ev *c = &r->carry[r->n_carry++];
    *c = *e;
    if (!e->n_lines || (e->kind != CP_KIND_ORDER_COMPLETED && e->kind != CP_KIND_CHECKOUT_STARTED &&
                        e->kind != CP_KIND_ORDER_REFUNDED))
        return CP_OK;
    if (cp_grow((void **)&r->carry_lines, &r->cap_carry_lines, r->n_carry_lines + e->n_lines,
                sizeof(sim_line)))
        return CP_ENOMEM;
    memcpy(r->carry_lines + r->n_carry_lines, r->day.lines + e->lines_off,
           e->n_lines * sizeof(sim_line));
    c->lines_off = (uint32_t)r->n_carry_lines;
    r->n_carry_lines += e->n_lines;
    return CP_OK;
}

/* Starts a day with what the previous one carried over. */
static int open_day(sim_run *r, int64_t day)
{
    sim_day *d = &r->day;
    d->day = day;
    d->n = 0;
    d->n_lines = 0;
    for (size_t i = 0; i < r->n_carry; i++) {
        sim_ev *e = sim_day_push(d);
        if (!e) return CP_ENOMEM;
        d->seq--; /* keep the carried record's own sequence number */
        *e = r->carry[i];
    }
    if (cp_grow((void **)&d->lines, &d->cap_lines, r->n_carry_lines, sizeof(sim_line)))
        return CP_ENOMEM;
    if (r->n_carry_lines) memcpy(d->lines, r->carry_lines, r->n_carry_lines * sizeof(sim_line));
    d->n_lines = r->n_carry_lines;
    r->n_carry = 0;
    r->n_carry_lines = 0;
    return CP_OK;
}

static int generate_day(sim_run *r)
{
    const cp_sim_params *p = r->p;
    sim_day *d = &r->day;
    size_t gen_start = d->n;
    for (int64_t i = 0; i < p->customers; i++) {
        sim_customer tmp;
        size_t from = d->n;
        const sim_customer *c = sim_person(p, d, (uint32_t)i, &tmp);
        if (sim_customer_day(p, &r->cat, c, d)) return CP_ENOMEM;
        sim_truth_account(&r->truth, p, &r->cat, d, from, d->n);
    }
    size_t bots = d->n;
    if (sim_bots_day(p, d)) return CP_ENOMEM;
    for (size_t i = bots; i < d->n;) { /* one bot session at a time */
        size_t j = i + 1;
        while (j < d->n && d->ev[j].cust == d->ev[i].cust) j++;
        sim_truth_account(&r->truth, p, &r->cat, d, i, j);
        i = j;
    }
    size_t gen_end = d->n;
    deliver(r, gen_start, gen_end);
    int rc = add_mess(r, gen_start, gen_end);
    if (!rc && p->profile == CP_SIM_MESSY)
        rc = sim_messy_day(p, &r->cat, d, &r->messy, r->truth.messy);
    return rc;
}

/* --live: what is due goes out, then the wait until this delivery's receive time. */
static int wait_until(sim_run *r, int64_t recv_ms)
{
    int64_t now = cp_now_ms();
    if (!r->p->live || recv_ms <= now) return CP_OK;
    int rc = flush_events(r);
    if (rc) return rc;
    int64_t ms = recv_ms - now;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return CP_OK;
}

static int in_window(const cp_sim_params *p, int64_t recv_ms)
{
    return recv_ms >= p->from_ms && (!p->until_ms || recv_ms < p->until_ms);
}

static int run_day(sim_run *r, int64_t day, int last)
{
    int rc = open_day(r, day);
    if (!rc) rc = generate_day(r);
    if (rc) return rc;
    sim_day *d = &r->day;
    if (sort_day(r)) return CP_ENOMEM;
    int64_t next_midnight = (day + 1) * CP_MS_PER_DAY;
    for (size_t i = 0; i < d->n && !rc; i++) {
        if (!last && d->ev[i].recv_ms >= next_midnight)
            rc = push_carry(r, &d->ev[i]);
        else if (in_window(r->p, d->ev[i].recv_ms) && !(rc = wait_until(r, d->ev[i].recv_ms)))
            rc = emit(r, &d->ev[i]);
    }
    return rc;
}

static int write_customers(sim_run *r)
{
    cp_buf b;
    int rc = CP_OK;
    if (!r->out->customers_csv) return CP_OK;
    cp_buf_init(&b);
    if (cp_buf_append_str(&b, "customer_id,name,email,country,signup_date\n")) return CP_ENOMEM;
    for (int64_t i = 0; i < r->p->customers && !rc; i++) {
        sim_customer tmp;
        const sim_customer *c = sim_person(r->p, &r->day, (uint32_t)i, &tmp);
        if (cp_buf_reserve(&b, 256)) {
            rc = CP_ENOMEM;
            break;
        }
        b.len += sim_format_customer_csv(r->p, c, b.ptr + b.len);
        if (b.len > FLUSH_BYTES) rc = flush(r, &b, r->out->customers_csv);
    }
    if (!rc) rc = flush(r, &b, r->out->customers_csv);
    cp_buf_free(&b);
    return rc;
}

static void run_free(sim_run *r)
{
    sim_catalog_free(&r->cat);
    sim_truth_free(&r->truth);
    cp_free(r->day.ev);
    cp_free(r->day.lines);
    cp_free(r->carry);
    cp_free(r->carry_lines);
    cp_buf_free(&r->events);
    cp_buf_free(&r->purchases);
    cp_buf_free(&r->clicks);
    cp_free(r->people);
    cp_free(r->sort_keys);
    cp_free(r->sort_tmp);
    cp_free(r->order);
    cp_free(r->order_tmp);
    cp_free(r->sorted);
    cp_free(r->radix_count);
    cp_free(r->far);
    cp_buf_free(&r->far_bytes);
}

/* Computes every profile once when they fit in memory; otherwise they are
 * recomputed where needed (they are pure functions of the seed). */
static int cache_people(sim_run *r)
{
    if (r->p->customers > PEOPLE_CACHE_MAX) return CP_OK;
    r->people = cp_calloc((size_t)r->p->customers, sizeof(sim_customer));
    if (!r->people) return CP_ENOMEM;
    for (int64_t i = 0; i < r->p->customers; i++) sim_customer_of(r->p, (uint32_t)i, &r->people[i]);
    r->day.people = r->people;
    return CP_OK;
}

static int write_headers(sim_run *r)
{
    int rc = CP_OK;
    if (r->out->purchases_csv)
        rc = cp_buf_append_str(&r->purchases, "order_id,customer_id,product_id,quantity,price,"
                                              "total_amount,purchase_date\n");
    if (!rc && r->out->clickstream_csv)
        rc = cp_buf_append_str(&r->clicks,
                               "user_id,session_id,page_url,event_type,product_id,timestamp\n");
    return rc;
}

int cp_simulate(const cp_sim_params *p, const cp_sim_output *out, cp_sim_stats *stats)
{
    if (p->customers < 1 || p->customers > 4000000000LL || p->days < 1 || p->products < 10 ||
        p->batch_size < 1)
        return CP_EINVAL;
    sim_run r = {.p = p, .out = out, .stats = stats, .max_time = INT64_MIN / 2};
    memset(stats, 0, sizeof(*stats));
    cp_buf_init(&r.events);
    cp_buf_init(&r.purchases);
    cp_buf_init(&r.clicks);
    cp_buf_init(&r.far_bytes);
    int rc = sim_catalog_init(&r.cat, p);
    if (!rc) rc = cache_people(&r);
    if (!rc) rc = sim_truth_init(&r.truth, p->days, p->customers);
    if (!rc) rc = write_headers(&r);
    if (!rc) rc = write_customers(&r);
    r.pace_start_ns = cp_mono_ns();
    /* Only the profiles asked for: no days to simulate. */
    int days = out->events || out->purchases_csv || out->clickstream_csv || out->truth;
    /* what a day delivers arrives by the next day's end: earlier days cannot reach from_ms */
    int64_t first = p->from_ms > 0 ? cp_day_of(p->from_ms) - 1 - p->start_day : 0;
    int64_t end = p->until_ms > 0 ? cp_day_of(p->until_ms - 1) + 1 - p->start_day : p->days;
    for (int64_t d = first > 0 ? first : 0; days && d < p->days && d < end && !rc; d++)
        rc = run_day(&r, p->start_day + d, d + 1 == p->days);
    if (!rc) rc = far_finish(&r);
    if (!rc) rc = flush_events(&r);
    if (!rc) rc = flush(&r, &r.purchases, out->purchases_csv);
    if (!rc) rc = flush(&r, &r.clicks, out->clickstream_csv);
    stats->duplicates = r.truth.duplicates;
    for (int i = 0; i < CP_REJECT__COUNT; i++) stats->rejects += r.truth.rejects[i];
    r.truth.lines = stats->lines;
    r.truth.messy[M_EVENTS] = stats->planted;
    if (!rc) rc = sim_truth_write(&r.truth, p, out);
    run_free(&r);
    return rc;
}

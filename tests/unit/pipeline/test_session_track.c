/* src/pipeline/session_track.c: sessions kept as silver is written equal the recomputation
 * from silver — events a little out of order, late ones, client session ids, bots, the
 * 24-hour cap, equal times — whatever the batches; past its memory, or after a rollback,
 * it gives up and the recomputation does it all. */
#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "pipeline/internal.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0      1790856000000LL
#define MIN     60000LL
#define TIMEOUT (30 * MIN)

static const char *const kinds[] = {"page",
                                    "page",
                                    "page",
                                    "product_viewed",
                                    "product_added",
                                    "checkout_started",
                                    "order_completed",
                                    "custom"};

typedef struct gen_event {
    char identity[16], user[16], sid[8], path[16];
    const char *kind;
    int64_t time_ms;
    bool is_bot;
} gen_event;

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* n events of `people` identities: each walks its own clock forward (gaps from a second to
 * two hours, a 26-hour page-only crawler among them), and the arrival order shuffles them
 * a little (up to a minute), with a few far behind (hours: late). */
static gen_event *generate(size_t n, int people, int late_per_mille)
{
    gen_event *ev = cp_calloc(n, sizeof(*ev));
    int64_t *clock = cp_calloc((size_t)people, sizeof(*clock)),
            *arrive = cp_calloc(n, sizeof(*arrive));
    for (int p = 0; p < people; p++) clock[p] = T0 + (int64_t)(next() % (3 * 3600000));
    for (size_t i = 0; i < n; i++) {
        int p = (int)(next() % (uint64_t)people);
        bool crawler = p == 0;
        uint64_t r = next();
        clock[p] += crawler       ? 1000 + (int64_t)(r % 2000)
                    : r % 10 == 0 ? (int64_t)(r % (2 * 3600000))
                                  : 1000 + (int64_t)(r % (5 * MIN));
        gen_event *e = &ev[i];
        snprintf(e->identity, sizeof(e->identity), "id-%d", p);
        if (p % 3 == 0 && next() % 2) snprintf(e->user, sizeof(e->user), "u-%d", p);
        if (p % 5 == 1 && next() % 4 == 0)
            snprintf(e->sid, sizeof(e->sid), "c%d", (int)(next() % 3));
        snprintf(e->path, sizeof(e->path), "/p/%d", (int)(next() % 9));
        e->kind = crawler ? "page" : kinds[next() % (sizeof(kinds) / sizeof(*kinds))];
        e->time_ms = clock[p] - (next() % 7 == 0 ? (int64_t)(next() % 1500) : 0); /* equal times */
        if (next() % 5 == 0) e->time_ms = clock[p];                               /* ties */
        e->is_bot = p == 7;
        arrive[i] = e->time_ms + (int64_t)(next() % MIN) +
                    ((int)(next() % 1000) < late_per_mille ? 3 * 3600000 : 0);
    }
    /* arrival order: by arrival time (a stable insertion sort keeps ties in generation order) */
    for (size_t i = 1; i < n; i++) {
        gen_event e = ev[i];
        int64_t a = arrive[i];
        size_t j = i;
        while (j > 0 && arrive[j - 1] > a) ev[j] = ev[j - 1], arrive[j] = arrive[j - 1], j--;
        ev[j] = e, arrive[j] = a;
    }
    cp_free(clock);
    cp_free(arrive);
    return ev;
}

static cp_slice opt(const char *s)
{
    return *s ? cp_slice_from(s) : CP_SLICE_NULL;
}

/* Writes the events in batches of `batch`, each event handed to t as silver's writer does. */
static void write_all(cp_store *s, sess_track *t, const gen_event *ev, size_t n, size_t batch,
                      size_t base)
{
    for (size_t i = 0; i < n; i++) {
        if (i % batch == 0) CHECK_INT(cp_store_begin(s), CP_OK);
        const gen_event *g = &ev[i];
        cp_silver_event e = {.offset = (int64_t)(base + i),
                             .message_id = CP_SLICE_LIT("m"),
                             .kind = cp_slice_from(g->kind),
                             .user_id = opt(g->user),
                             .identity = cp_slice_from(g->identity),
                             .session_id = opt(g->sid),
                             .page_path = cp_slice_from(g->path),
                             .country = CP_SLICE_LIT("DE"),
                             .device_type = CP_SLICE_LIT("mobile"),
                             .is_bot = g->is_bot,
                             .event_time_ms = g->time_ms,
                             .received_at_ms = g->time_ms};
        CHECK_INT(cp_store_add_event(s, &e), CP_OK);
        cp_session_event se = session_event_of(&e);
        CHECK_INT(sess_track_add(t, s, &se), CP_OK);
        if (i % batch == batch - 1 || i == n - 1) CHECK_INT(cp_store_commit(s), CP_OK);
    }
}

static char *dump(cp_store *s)
{
    static char out[1 << 22];
    char err[256];
    FILE *f = fmemopen(out, sizeof(out) - 1, "w");
    CHECK_INT(cp_store_query(s, "SELECT * FROM sessions ORDER BY identity, start_time",
                             CP_QUERY_CSV, 0, f, err, sizeof(err)),
              CP_OK);
    fclose(f);
    return cp_strdup(out);
}

static int64_t q(cp_store *s, const char *sql)
{
    int64_t v = -1;
    bool null;
    CHECK(cp_store_scalar(s, sql, &v, &null) == CP_OK);
    return null ? -1 : v;
}

/* The kept table against the recomputation of the same silver. */
static void same_as_recomputed(size_t n, int people, int late, size_t batch, size_t *aside)
{
    cp_store *s;
    char err[256];
    CHECK_INT(cp_store_open(":memory:", false, &s, err, sizeof(err)), CP_OK);
    gen_event *ev = generate(n, people, late);
    sess_track *t = sess_track_new(TIMEOUT, 64 << 20);
    write_all(s, t, ev, n, batch, 0);
    CHECK(sess_track_active(t));
    *aside = sess_track_aside(t);
    CHECK_INT(sess_track_finish(t, s), CP_OK);
    CHECK(!sess_track_active(t));
    CHECK_INT(q(s, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'sessions_todo'"), 0);
    char *kept = dump(s);
    CHECK_INT(sessions_refresh(s, TIMEOUT, -1), CP_OK);
    char *recomputed = dump(s);
    CHECK(strlen(kept) > 1000);
    CHECK_STR(kept, recomputed);
    CHECK_INT(q(s, "SELECT sum(events) FROM sessions"), (int64_t)n);
    cp_free(kept);
    cp_free(recomputed);
    sess_track_free(t);
    cp_free(ev);
    cp_store_close(s);
}

static void test_equal_to_recomputation(void)
{
    size_t aside;
    same_as_recomputed(10000, 200, 0, 1000, &aside);
    CHECK_INT(aside, 0); /* a minute out of order waits, and goes in order */
    same_as_recomputed(10000, 200, 5, 777, &aside);
    CHECK(aside > 10); /* late ones are recomputed */
    same_as_recomputed(2000, 40, 20, 1, &aside);
    CHECK(aside > 5);
}

/* A crawler that never pauses: its waiting events always hold some, but not its past ones —
 * the tracker's memory stays that of two minutes of its events. */
static void test_waiting_bounded(void)
{
    cp_store *s;
    char err[256];
    CHECK_INT(cp_store_open(":memory:", false, &s, err, sizeof(err)), CP_OK);
    enum { N = 20000 };
    gen_event *ev = cp_calloc(N, sizeof(*ev));
    for (size_t i = 0; i < N; i++) {
        snprintf(ev[i].identity, sizeof(ev[i].identity), "crawler");
        snprintf(ev[i].path, sizeof(ev[i].path), "/p/%d", (int)(i % 97));
        ev[i].kind = i == 1 ? "product_viewed" : "page"; /* no bot rule: no gaps kept */
        ev[i].time_ms = T0 + (int64_t)i * 1000;
    }
    sess_track *t = sess_track_new(TIMEOUT, 64 << 20);
    size_t first = 0, most = 0;
    for (size_t from = 0; from < N; from += 1000) {
        write_all(s, t, ev + from, 1000, 1000, from);
        if (!from) first = sess_track_bytes(t);
        most = sess_track_bytes(t) > most ? sess_track_bytes(t) : most;
    }
    CHECK(first > 0 && most - first < 16 << 10); /* not a byte an event (20,000 of them) */
    CHECK_INT(sess_track_finish(t, s), CP_OK);
    CHECK_INT(q(s, "SELECT count(*) FROM sessions"), 1); /* 20,000 s: under 24 hours */
    CHECK_INT(q(s, "SELECT events FROM sessions"), N);
    sess_track_free(t);
    cp_free(ev);
    cp_store_close(s);
}

/* Past its memory it gives up: the end recomputes everything. */
static void test_gives_up(void)
{
    cp_store *s;
    char err[256];
    CHECK_INT(cp_store_open(":memory:", false, &s, err, sizeof(err)), CP_OK);
    gen_event *ev = generate(5000, 300, 0);
    sess_track *t = sess_track_new(TIMEOUT, 64 << 10);
    write_all(s, t, ev, 5000, 500, 0);
    CHECK(!sess_track_active(t));
    CHECK_INT(sess_track_finish(t, s), CP_EAGAIN);
    sess_track_free(t);
    /* a rollback: it saw rows that are gone */
    t = sess_track_new(TIMEOUT, 64 << 20);
    write_all(s, t, ev, 100, 100, 0);
    CHECK(sess_track_active(t));
    sess_track_abandon(t);
    CHECK(!sess_track_active(t));
    CHECK_INT(sess_track_finish(t, s), CP_EAGAIN);
    sess_track_free(t);
    cp_free(ev);
    cp_store_close(s);
}

int main(void)
{
    RUN(test_equal_to_recomputation);
    RUN(test_waiting_bounded);
    RUN(test_gives_up);
    TEST_END();
}

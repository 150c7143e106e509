/* src/pipeline/live.c: every real-time operator against exact figures — counts by
 * kind per second and minute, page views, visitors, active users, orders, revenue,
 * average order value, sessions and conversion, the funnel, top pages, products and
 * referrers, countries — with late and out-of-order events, minute boundaries,
 * session timeouts, and the rollups persisted and restored. */
#include "clickpulse/error.h"
#include "clickpulse/live.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

#define T0  1790856000000LL /* 2026-10-01T12:00:00Z, a minute boundary */
#define M0  (T0 / 60000)
#define MIN 60000LL

static cp_live *lv;

static void ev(cp_event_kind kind, int64_t t, const char *who, const char *path,
               const char *country)
{
    cp_live_event e = {.kind = kind,
                       .time_ms = t,
                       .identity = cp_slice_from(who),
                       .page_path = path ? cp_slice_from(path) : CP_SLICE_NULL,
                       .country = country ? cp_slice_from(country) : CP_SLICE_NULL};
    cp_live_add(lv, &e);
}

static cp_product lamp = {.product_id = CP_SLICE_LIT("p-1"),
                          .name = CP_SLICE_LIT("Lamp"),
                          .price = 2995,
                          .quantity = 2,
                          .has_price = true};
static cp_product mug = {
    .product_id = CP_SLICE_LIT("p-2"), .price = 500, .quantity = 1, .has_price = true};

static void order(int64_t t, const char *who, cp_money revenue, cp_product *p, uint32_t n)
{
    cp_live_event e = {.kind = CP_KIND_ORDER_COMPLETED,
                       .time_ms = t,
                       .identity = cp_slice_from(who),
                       .country = CP_SLICE_LIT("DE"),
                       .has_revenue = true,
                       .rate_e8 = 100000000,
                       .revenue = revenue,
                       .products = p,
                       .n_products = n};
    cp_live_add(lv, &e);
}

static void view(int64_t t, const char *who, cp_product *p)
{
    cp_live_event e = {.kind = CP_KIND_PRODUCT_VIEWED,
                       .time_ms = t,
                       .identity = cp_slice_from(who),
                       .country = CP_SLICE_LIT("DE"),
                       .products = p,
                       .n_products = 1};
    cp_live_add(lv, &e);
}

/* The shop's first minutes:
 *   a: the whole funnel in minute 0 (a page from Google, a page from the shop, view, cart,
 *      checkout, order)
 *   b: a page at 59.999 s (minute 0) and one at 60.000 s (minute 1), a product view in
 *      minute 1, then 31 minutes of silence and a page: a second session (minute 32)
 *   bot: one page in minute 0
 *   c: a page in minute 2, then a page from 10 s before it arriving after it (out of order)
 *   a late event (older than the watermark): counted as late only. */
static void feed(void)
{
    cp_live_event g = {.kind = CP_KIND_PAGE,
                       .time_ms = T0 + 1000,
                       .identity = CP_SLICE_LIT("a"),
                       .page_path = CP_SLICE_LIT("/"),
                       .country = CP_SLICE_LIT("DE"),
                       .page_url = CP_SLICE_LIT("https://shop.example/"),
                       .referrer = CP_SLICE_LIT("https://www.google.com/search?q=lamp")};
    cp_live_add(lv, &g);
    cp_live_event inside = g; /* a second page with the shop itself as referrer */
    inside.time_ms = T0 + 1500;
    inside.referrer = CP_SLICE_LIT("https://shop.example/p/1");
    cp_live_add(lv, &inside);
    view(T0 + 10000, "a", &lamp);
    ev(CP_KIND_PRODUCT_ADDED, T0 + 20000, "a", NULL, "DE");
    ev(CP_KIND_CHECKOUT_STARTED, T0 + 30000, "a", NULL, "DE");
    order(T0 + 40000, "a", 6490, (cp_product[]){lamp, mug}, 2);
    ev(CP_KIND_PAGE, T0 + 59999, "b", "/p/lamp", "FR");
    ev(CP_KIND_PAGE, T0 + 60000, "b", "/p/lamp", "FR");
    view(T0 + 61000, "b", &lamp);
    cp_live_event bot = {.kind = CP_KIND_PAGE,
                         .time_ms = T0 + 5000,
                         .identity = CP_SLICE_LIT("bot"),
                         .page_path = CP_SLICE_LIT("/robots"),
                         .is_bot = true};
    cp_live_add(lv, &bot);
    ev(CP_KIND_PAGE, T0 + 2 * MIN + 20000, "c", "/", NULL);
    ev(CP_KIND_PAGE, T0 + 2 * MIN + 10000, "c", "/p/mug", NULL); /* out of order */
    cp_live_event late = {.kind = CP_KIND_PAGE,
                          .time_ms = T0 - 10 * MIN,
                          .identity = CP_SLICE_LIT("z"),
                          .page_path = CP_SLICE_LIT("/"),
                          .late = true};
    cp_live_add(lv, &late);
    ev(CP_KIND_PAGE, T0 + 60000 + 31 * MIN, "b", "/", "FR");
}

static void check_first_minutes(void)
{
    cp_live_window w;
    CHECK_INT(cp_live_window_get(lv, M0, M0, &w), CP_OK);
    CHECK_INT(w.events, 8); /* a: 6, b: 1, bot: 1 */
    CHECK_INT(w.bots, 1);
    CHECK_INT(w.kinds[CP_KIND_PAGE], 4);
    CHECK_INT(w.kinds[CP_KIND_ORDER_COMPLETED], 1);
    CHECK_INT(w.pageviews, 3); /* the bot's is not one */
    CHECK_INT((int64_t)w.visitors, 2);
    CHECK_INT(w.orders, 1);
    CHECK_INT(w.revenue, 6490);
    CHECK_INT(w.sessions, 2); /* a and b started in minute 0 */
    CHECK_INT(w.converted, 1);
    CHECK_INT(w.funnel[0], 2);
    CHECK_INT(w.funnel[1], 2); /* b's product view in minute 1 counts for its session's minute */
    CHECK_INT(w.funnel[2], 1);
    CHECK_INT(w.funnel[3], 1);
    CHECK_INT(w.funnel[4], 1);
    CHECK_INT(w.n_referrers, 1); /* the shop's own pages are not referrers */
    CHECK_STR(w.referrers[0].key, "www.google.com");
    CHECK_INT(w.n_products, 2);
    CHECK_STR(w.products[0].key, "Lamp"); /* one view, 2 units, 59.90 */
    CHECK_INT(w.products[0].n, 1);
    CHECK_INT(w.products[0].orders, 2);
    CHECK_INT(w.products[0].revenue, 5990);
    CHECK_STR(w.products[1].key, "p-2"); /* no name: the id */
    CHECK_INT(w.products[1].orders, 1);
    CHECK_INT(w.n_countries, 2);
    CHECK_STR(w.countries[0].key, "DE");
    CHECK_INT(w.countries[0].n, 6);
    CHECK_INT(w.countries[0].orders, 1);
    CHECK_INT(w.countries[0].revenue, 6490);
    CHECK_STR(w.countries[1].key, "FR");

    CHECK_INT(cp_live_window_get(lv, M0 + 1, M0 + 1, &w), CP_OK);
    CHECK_INT(w.events, 2);
    CHECK_INT(w.sessions, 0);
    CHECK_INT(w.n_products, 1);
    CHECK_INT(w.products[0].n, 1);

    CHECK_INT(cp_live_window_get(lv, M0 + 2, M0 + 2, &w), CP_OK);
    CHECK_INT(w.pageviews, 2);
    CHECK_INT(w.sessions, 1); /* the earlier page joined c's session */
    CHECK_INT(w.funnel[0], 1);
    CHECK_INT(w.n_pages, 2);
    CHECK_STR(w.pages[0].key, "/"); /* ties in order of key */
    CHECK_STR(w.pages[1].key, "/p/mug");
    CHECK_STR(w.countries[0].key, "unknown");

    CHECK_INT(cp_live_window_get(lv, M0, M0 + 40, &w), CP_OK);
    CHECK_INT(w.events, 13);
    CHECK_INT(w.sessions, 4); /* b's return after 31 minutes is a new session */
    CHECK_INT(w.converted, 1);
    CHECK_INT((int64_t)w.visitors, 3);
    CHECK_INT(w.n_pages, 3);
    CHECK_STR(w.pages[0].key, "/");
    CHECK_INT(w.pages[0].n, 4);
    CHECK_STR(w.pages[1].key, "/p/lamp");
    CHECK_INT(w.pages[1].n, 2);
    CHECK_INT(cp_live_late(lv), 1);
    CHECK_INT((int64_t)cp_live_counted(lv), 14);
    CHECK_INT((int64_t)cp_live_visitors(lv, M0 + 30, M0 + 34), 1);

    int64_t s[3];
    cp_live_seconds(lv, T0 / 1000 + 59, 3, -1, s);
    CHECK_INT(s[0], 1); /* 59.999 s */
    CHECK_INT(s[1], 1); /* 60.000 s */
    CHECK_INT(s[2], 1); /* 61 s: b's product view */
    cp_live_seconds(lv, T0 / 1000 + 61, 1, CP_KIND_PAGE, s);
    CHECK_INT(s[0], 0);
}

static void test_operators(void)
{
    lv = cp_live_new(30 * MIN, 0);
    feed();
    check_first_minutes();

    cp_buf b;
    cp_buf_init(&b);
    CHECK_INT(cp_live_snapshot(lv, T0 + 3 * MIN, &b), CP_OK);
    CHECK(strstr(b.ptr, "\"active_users\":3,") != NULL); /* minutes 0..3: a, b and c */
    CHECK(strstr(b.ptr,
                 "\"last_30m\":{\"events\":12,\"pageviews\":6,\"visitors\":3,\"sessions\":3,"
                 "\"orders\":1,\"revenue\":64.90,\"aov\":64.90,\"conversion\":0.3333,\"bots\":1") !=
          NULL);
    CHECK(strstr(b.ptr, "\"funnel\":[3,2,1,1,1]") != NULL);
    /* per minute by kind over the hour: minutes 0..3 are the last four of the sixty */
    CHECK(
        strstr(
            b.ptr,
            "\"page\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
            "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,4,1,2,0]") != NULL); /* bots count */
    CHECK(strstr(b.ptr, "\"order_completed\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
                        "0,0,0,0,0,0,0,"
                        "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0]") != NULL);
    /* per second by kind, the last 60 seconds (2:01..3:00): c's pages at 2:10 and 2:20 */
    char want[400] = "\"kinds\":{\"page\":[";
    for (int i = 0; i < 60; i++) strcat(want, i == 9 || i == 19 ? "1," : "0,");
    strcpy(want + strlen(want) - 1, "]}}");
    CHECK(strstr(b.ptr, want) != NULL);
    CHECK(
        strstr(b.ptr,
               "\"top_products\":[{\"key\":\"Lamp\",\"views\":2,\"units\":2,\"revenue\":59.90}") !=
        NULL);
    cp_buf_free(&b);
    cp_live_free(lv);
}

static void test_session_rules(void)
{
    lv = cp_live_new(30 * MIN, 0);
    /* a visit every 20 minutes for 24 h 40 min: a new session once 24 hours have passed */
    for (int64_t t = 0; t <= 1480; t += 20) ev(CP_KIND_PAGE, T0 + t * MIN, "long", "/", NULL);
    cp_live_window w;
    CHECK_INT(cp_live_window_get(lv, M0, M0 + 25 * 60, &w), CP_OK);
    CHECK_INT(w.sessions, 2);
    CHECK_INT(w.pageviews, 75);
    CHECK_INT(cp_live_window_get(lv, M0 + 24 * 60, M0 + 24 * 60, &w), CP_OK);
    CHECK_INT(w.sessions, 1);
    /* an event from well before the tracked session: a session of its own, the tracked one kept */
    ev(CP_KIND_PAGE, T0 + 23 * 60 * MIN, "long", "/", NULL);
    CHECK_INT(cp_live_window_get(lv, M0, M0 + 25 * 60, &w), CP_OK);
    CHECK_INT(w.sessions, 3);
    ev(CP_KIND_PAGE, T0 + 1480 * MIN + 1000, "long", "/", NULL);
    CHECK_INT(cp_live_window_get(lv, M0, M0 + 25 * 60, &w), CP_OK);
    CHECK_INT(w.sessions, 3);
    /* 25 hours on, the ring has let the first minutes go */
    ev(CP_KIND_PAGE, T0 + 1500 * MIN, "other", "/", NULL);
    CHECK_INT(cp_live_window_get(lv, M0, M0, &w), CP_OK);
    CHECK_INT(w.events, 0);
    cp_live_free(lv);
}

/* A partition taken over: its recent events, counted by the previous owner, warm the
 * sessions up without being counted; the next event continues its session. */
static void test_warm_up(void)
{
    lv = cp_live_new(30 * MIN, 0);
    cp_live_event page = {.kind = CP_KIND_PAGE, .time_ms = T0, .identity = CP_SLICE_LIT("w")};
    cp_live_event viewed = {
        .kind = CP_KIND_PRODUCT_VIEWED, .time_ms = T0 + MIN, .identity = CP_SLICE_LIT("w")};
    cp_live_warm(lv, &page);
    cp_live_warm(lv, &viewed);
    cp_live_window w;
    CHECK_INT(cp_live_window_get(lv, M0, M0 + 10, &w), CP_OK);
    CHECK_INT(w.events, 0);
    CHECK_INT(w.sessions, 0);
    CHECK_INT((int64_t)cp_live_counted(lv), 0);
    ev(CP_KIND_PRODUCT_ADDED, T0 + 5 * MIN, "w", NULL, NULL);
    CHECK_INT(cp_live_window_get(lv, M0, M0 + 10, &w), CP_OK);
    CHECK_INT(w.events, 1);
    CHECK_INT(w.sessions, 0);  /* the previous owner counted the session's start */
    CHECK_INT(w.funnel[2], 1); /* page and product view were reached: the cart step counts */
    CHECK_INT(w.funnel[0] + w.funnel[1], 0);
    cp_live_free(lv);
    /* without the warm-up the same event starts a session of its own, short of the funnel */
    lv = cp_live_new(30 * MIN, 0);
    ev(CP_KIND_PRODUCT_ADDED, T0 + 5 * MIN, "w", NULL, NULL);
    CHECK_INT(cp_live_window_get(lv, M0, M0 + 10, &w), CP_OK);
    CHECK_INT(w.sessions, 1);
    CHECK_INT(w.funnel[2], 0);
    cp_live_free(lv);
    /* many identities warmed before any event was counted (the table grows, nothing is
     * swept for want of an event time): each next event continues its session */
    lv = cp_live_new(30 * MIN, 0);
    char who[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(who, sizeof(who), "w%d", i);
        cp_live_event e = {.kind = CP_KIND_PAGE, .time_ms = T0 + i, .identity = cp_slice_from(who)};
        cp_live_warm(lv, &e);
    }
    for (int i = 0; i < 3000; i++) {
        snprintf(who, sizeof(who), "w%d", i);
        ev(CP_KIND_PAGE, T0 + MIN + i, who, "/", NULL);
    }
    CHECK_INT(cp_live_window_get(lv, M0, M0 + 10, &w), CP_OK);
    CHECK_INT(w.events, 3000);
    CHECK_INT(w.sessions, 0);
    cp_live_free(lv);
}

static void test_persist_restore(void)
{
    char err[256];
    cp_store *s;
    CHECK_INT(cp_store_open(":memory:", false, &s, err, sizeof(err)), CP_OK);
    lv = cp_live_new(30 * MIN, 0);
    feed();
    CHECK_INT(cp_store_begin(s), CP_OK);
    CHECK_INT(cp_live_persist(lv, s), CP_OK);
    CHECK_INT(cp_store_commit(s), CP_OK);
    /* more events in minute 0 later: the minute's rows are replaced */
    ev(CP_KIND_PAGE, T0 + 3000, "d", "/", "DE");
    ev(CP_KIND_PAGE, T0 + 4000, "bot", "/robots", NULL);
    CHECK_INT(cp_store_begin(s), CP_OK);
    CHECK_INT(cp_live_persist(lv, s), CP_OK);
    CHECK_INT(cp_store_commit(s), CP_OK);
    int64_t v;
    bool null;
    CHECK_INT(cp_store_scalar(s, "SELECT count(*) FROM rt_minute", &v, &null), CP_OK);
    CHECK_INT(v, 4); /* minutes 0, 1, 2 and 32 */
    CHECK_INT(cp_store_scalar(
                  s,
                  "SELECT visitors FROM rt_minute WHERE minute = TIMESTAMP '2026-10-01 12:00:00'",
                  &v, &null),
              CP_OK);
    CHECK_INT(v, 4); /* a, b, d, and the second 'bot' (no bot flag this time) */
    CHECK_INT(cp_store_scalar(s,
                              "SELECT n FROM rt_minute_top WHERE dim = 'page' AND key = '/' AND "
                              "minute = TIMESTAMP '2026-10-01 12:00:00'",
                              &v, &null),
              CP_OK);
    CHECK_INT(v, 3); /* a twice, d */
    cp_live_free(lv);

    lv = cp_live_new(30 * MIN, 0);
    CHECK_INT(cp_live_restore(lv, s), CP_OK);
    cp_live_window w;
    CHECK_INT(cp_live_window_get(lv, M0, M0, &w), CP_OK);
    CHECK_INT(w.events, 10);
    CHECK_INT(w.kinds[CP_KIND_PAGE], 6);
    CHECK_INT(w.pageviews, 5);
    CHECK_INT((int64_t)w.visitors, 4);
    CHECK_INT(w.funnel[4], 1);
    CHECK_INT(w.revenue, 6490);
    CHECK_STR(w.products[0].key, "Lamp");
    CHECK_STR(w.referrers[0].key, "www.google.com");
    CHECK_INT(cp_live_window_get(lv, M0, M0 + 40, &w), CP_OK);
    CHECK_INT(w.events, 15);
    CHECK_INT(w.sessions, 6);
    /* restored minutes are not written again until they change */
    CHECK_INT(cp_store_begin(s), CP_OK);
    CHECK_INT(cp_live_persist(lv, s), CP_OK);
    CHECK_INT(cp_store_commit(s), CP_OK);
    CHECK_INT(cp_store_scalar(s, "SELECT count(*) FROM rt_minute", &v, &null), CP_OK);
    CHECK_INT(v, 4);
    /* a restored minute that changes is replaced, not written a second time */
    ev(CP_KIND_PAGE, T0 + 5000, "e", "/", "DE");
    CHECK_INT(cp_store_begin(s), CP_OK);
    CHECK_INT(cp_live_persist(lv, s), CP_OK);
    CHECK_INT(cp_store_commit(s), CP_OK);
    CHECK_INT(cp_store_scalar(s, "SELECT count(*) FROM rt_minute", &v, &null), CP_OK);
    CHECK_INT(v, 4);
    CHECK_INT(cp_store_scalar(s,
                              "SELECT events FROM rt_minute WHERE minute = TIMESTAMP '2026-10-01 "
                              "12:00:00'",
                              &v, &null),
              CP_OK);
    CHECK_INT(v, 11);
    CHECK_INT(cp_store_scalar(s,
                              "SELECT count(*) FROM rt_minute_top WHERE dim = 'page' AND key = '/' "
                              "AND minute = TIMESTAMP '2026-10-01 12:00:00'",
                              &v, &null),
              CP_OK);
    CHECK_INT(v, 1);
    cp_live_free(lv);
    cp_store_close(s);
}

/* pipeline.live_memory: 25 hours of minutes, each with 4,096 new pages and 2,000 new
 * visitors, in 4 MB. The bytes stay within the bound and every figure but the top lists
 * stays exact: old minutes keep their top ten keys, the rest counted as "other", so that
 * the newest minutes keep theirs. Identities that find no room count as no session until
 * the sessions that ended are swept, a minute on. */
static void test_memory_bound(void)
{
    size_t bound = 4u << 20, bytes;
    uint64_t untracked;
    lv = cp_live_new(30 * MIN, bound);
    char who[32], path[32];
    int64_t pages = 0;
    for (int m = 0; m < 1500; m += 7)
        for (int i = 0; i < 4096; i++) {
            snprintf(who, sizeof(who), "v%d-%d", m, i % 2000);
            snprintf(path, sizeof(path), "/p/%d/%d", m, i);
            ev(CP_KIND_PAGE, T0 + m * MIN + i, who, path, "DE");
            pages++;
            if (i % 512 == 0) {
                cp_live_memory(lv, &bytes, &untracked);
                CHECK(bytes <= bound);
            }
        }
    cp_live_window w;
    CHECK_INT(cp_live_window_get(lv, M0, M0 + 1500, &w), CP_OK);
    CHECK_INT(w.pageviews, pages);
    CHECK_INT(w.events, pages);
    CHECK_INT(w.n_countries, 1);
    CHECK_INT(w.countries[0].n, pages);
    CHECK_INT(w.sessions, 2000 * 215); /* each minute's 2,000 visitors, new ones every 7 */
    cp_live_memory(lv, &bytes, &untracked);
    CHECK_INT(untracked, 0); /* old minutes' keys made room for the sessions */
    CHECK(bytes <= bound && bytes > bound / 2);
    /* the newest minute has every key (ties: by key), an old one its top ten */
    CHECK_INT(cp_live_window_get(lv, M0 + 1498, M0 + 1498, &w), CP_OK);
    CHECK_INT(w.pageviews, 4096);
    CHECK_INT(w.n_pages, CP_LIVE_TOP);
    CHECK_STR(w.pages[0].key, "/p/1498/0");
    CHECK_STR(w.pages[9].key, "/p/1498/1005");
    CHECK_INT(cp_live_window_get(lv, M0, M0, &w), CP_OK);
    CHECK_INT(w.pageviews, 4096);
    CHECK_INT(w.n_pages, CP_LIVE_TOP);
    CHECK_STR(w.pages[0].key, "/p/0/0");
    cp_live_free(lv);

    /* sessions alone: 200,000 identities within half an hour do not fit in 1 MB */
    lv = cp_live_new(30 * MIN, 1u << 20);
    for (int i = 0; i < 200000; i++) {
        snprintf(who, sizeof(who), "u%d", i);
        ev(CP_KIND_SCREEN, T0 + i / 10, who, NULL, NULL);
    }
    cp_live_memory(lv, &bytes, &untracked);
    CHECK(bytes <= 1u << 20);
    CHECK(untracked > 100000);
    CHECK_INT(cp_live_window_get(lv, M0, M0 + 60, &w), CP_OK);
    CHECK_INT(w.events, 200000);
    CHECK_INT(w.sessions + (int64_t)untracked, 200000);
    /* an hour on, those sessions have ended: a sweep makes room and new identities count */
    uint64_t was = untracked;
    for (int i = 0; i < 5000; i++) {
        snprintf(who, sizeof(who), "later%d", i % 1000);
        ev(CP_KIND_SCREEN, T0 + 60 * MIN + i, who, NULL, NULL);
    }
    cp_live_memory(lv, &bytes, &untracked);
    CHECK(bytes <= 1u << 20);
    CHECK_INT(untracked, was);
    CHECK_INT(cp_live_window_get(lv, M0 + 60, M0 + 62, &w), CP_OK);
    CHECK_INT(w.events, 5000);
    CHECK_INT(w.sessions, 1000);
    cp_live_free(lv);
}

int main(void)
{
    RUN(test_operators);
    RUN(test_session_rules);
    RUN(test_warm_up);
    RUN(test_persist_restore);
    RUN(test_memory_bound);
    TEST_END();
}

/* src/event/csv.c: the three tables onto events, quoting, orders gathered
 * across rows and pieces, resume positions, and bad rows. */
#include "clickpulse/csv.h"
#include "clickpulse/error.h"
#include "test.h"

typedef struct got {
    int n, nrej;
    char kind[16][32], user[16][32], anon[16][40], order[16][16];
    int64_t revenue[16]; /* hundredths */
    uint32_t products[16];
    uint64_t pos[16], line[16];
    char reasons[8][32], raw[8][128];
    uint64_t rej_line[8];
} got;

static int on_event(void *ud, const cp_event *e)
{
    got *g = ud;
    if (g->n < 16) {
        snprintf(g->kind[g->n], 32, "%s", cp_event_kind_name(e->kind));
        snprintf(g->user[g->n], 32, "%.*s", (int)e->user_id.len, e->user_id.ptr);
        snprintf(g->anon[g->n], 40, "%.*s", (int)e->anonymous_id.len, e->anonymous_id.ptr);
        snprintf(g->order[g->n], 16, "%.*s", (int)e->order_id.len, e->order_id.ptr);
        g->revenue[g->n] = e->revenue;
        g->products[g->n] = e->n_products;
        g->pos[g->n] = e->pos;
        g->line[g->n] = e->line;
    }
    g->n++;
    return 0;
}

static int on_reject(void *ud, const cp_reject *r)
{
    got *g = ud;
    if (g->nrej < 8) {
        snprintf(g->reasons[g->nrej], 32, "%s", cp_reject_reason_name(r->reason));
        snprintf(g->raw[g->nrej], 128, "%.*s", (int)r->raw.len, r->raw.ptr);
        g->rej_line[g->nrej] = r->line;
    }
    g->nrej++;
    return 0;
}

static void feed_all(const char *text, size_t piece, got *g, cp_csv_decoder **keep)
{
    memset(g, 0, sizeof(*g));
    cp_csv_decoder *d = cp_csv_decoder_new(NULL, (cp_decode_sink){g, on_event, on_reject});
    size_t n = strlen(text);
    for (size_t off = 0; off < n; off += piece)
        CHECK(cp_csv_decoder_feed(d, text + off, off + piece > n ? n - off : piece) == 0);
    if (keep) {
        *keep = d;
        return;
    }
    CHECK(cp_csv_decoder_finish(d) == 0);
    cp_csv_decoder_free(d);
}

static void test_customers(void)
{
    got g;
    const char *t = "email,customer_id,name,country,signup_date,extra\r\n"
                    "ana@x.example,cus_1,\"Silva, Ana\",PT,2026-09-30,z\r\n"
                    "\"jo\"\"e@x.example\",cus_2,Joe,US,2026-10-01,z\r\n";
    feed_all(t, 7, &g, NULL);
    CHECK_INT(g.n, 2);
    CHECK_STR(g.kind[0], "identify");
    CHECK_STR(g.user[0], "cus_1");
    CHECK_STR(g.user[1], "cus_2");
    CHECK_INT(g.line[1], 3);
    CHECK_INT(g.pos[0], 50);
    CHECK_INT(g.nrej, 0); /* the decoder maps; e-mail rules are the pipeline's */
}

static void test_purchases_grouped(void)
{
    got g;
    const char *t = "order_id,customer_id,product_id,quantity,price,total_amount,purchase_date\n"
                    "o1,c1,p1,2,5.00,10.00,2026-10-01T10:00:00Z\n"
                    "o1,c1,p2,1,2.50,2.50,2026-10-01T10:00:00Z\n"
                    "o2,c2,p3,1,7.25,7.25,2026-10-02T11:00:00Z\n";
    for (size_t piece = 1; piece < 200; piece += 37) {
        cp_csv_decoder *d;
        feed_all(t, piece, &g, &d);
        CHECK_INT(g.n, 1); /* o2 is still being gathered */
        uint64_t line, at = cp_csv_decoder_resume_position(d, &line);
        CHECK_INT(at, 159);
        CHECK_INT(line, 3);
        CHECK(cp_csv_decoder_finish(d) == 0);
        cp_csv_decoder_free(d);
        CHECK_INT(g.n, 2);
        CHECK_STR(g.kind[0], "order_completed");
        CHECK_STR(g.order[0], "o1");
        CHECK_INT(g.revenue[0], 1250);
        CHECK_INT(g.products[0], 2);
        CHECK_STR(g.order[1], "o2");
        CHECK_INT(g.line[1], 4);
    }
}

static void test_clickstream_and_bad_rows(void)
{
    got g;
    const char *t = "user_id,session_id,page_url,event_type,product_id,timestamp\n"
                    "0a1b2c3d-0000-4000-8000-000000000001,s1,https://s.example/p/"
                    "1?x=1,page,,2026-10-01T10:00:00Z\n"
                    "cus_7,s1,https://s.example/p/1,add_to_cart,p1,2026-10-01T10:00:05Z\n"
                    "cus_7,s1,https://s.example/,teleport,,2026-10-01T10:00:06Z\n"
                    "cus_7,s1,https://s.example/,page,,yesterday\n"
                    "\"unclosed,s1\n";
    feed_all(t, 13, &g, NULL);
    CHECK_INT(g.n, 2);
    CHECK_STR(g.kind[0], "page");
    CHECK_STR(g.anon[0], "0a1b2c3d-0000-4000-8000-000000000001");
    CHECK_STR(g.user[0], "");
    CHECK_STR(g.kind[1], "product_added");
    CHECK_STR(g.user[1], "cus_7");
    CHECK_INT(g.nrej, 3);
    CHECK_STR(g.reasons[0], "unknown_type");
    CHECK_STR(g.raw[0], "cus_7,s1,https://s.example/,teleport,,2026-10-01T10:00:06Z");
    CHECK_STR(g.reasons[1], "bad_timestamp");
    CHECK_INT(g.rej_line[1], 5);
    CHECK_STR(g.reasons[2], "not_json");
}

static void test_unknown_header(void)
{
    got g;
    feed_all("a,b\n1,2\n3,4\n", 3, &g, NULL);
    CHECK_INT(g.n, 0);
    CHECK_INT(g.nrej, 3);
    CHECK_STR(g.reasons[0], "missing_field");
}

int main(void)
{
    RUN(test_customers);
    RUN(test_purchases_grouped);
    RUN(test_clickstream_and_bad_rows);
    RUN(test_unknown_header);
    TEST_END();
}

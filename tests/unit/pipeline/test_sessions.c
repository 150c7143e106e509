/* src/pipeline/sessions.c: the inactivity timeout, the 24-hour cap, trusted
 * client session ids, funnel flags and the behavioural bot rule. */
#include "clickpulse/error.h"
#include "pipeline/internal.h"
#include "test.h"

#define T0  1790856000000LL
#define MIN 60000LL

static int64_t off;

static void ev(cp_store *s, const char *id, int64_t t, const char *kind, const char *sid)
{
    cp_silver_event e = {.offset = off++,
                         .identity = cp_slice_from(id),
                         .kind = cp_slice_from(kind),
                         .event_time_ms = t,
                         .received_at_ms = t,
                         .session_id = sid ? cp_slice_from(sid) : CP_SLICE_NULL};
    CHECK(cp_store_add_event(s, &e) == CP_OK);
}

static int64_t q(cp_store *s, const char *sql)
{
    int64_t v = -1;
    bool null;
    CHECK(cp_store_scalar(s, sql, &v, &null) == CP_OK);
    return null ? -1 : v;
}

static void test_rules(void)
{
    cp_store *s;
    char err[256];
    CHECK(cp_store_open(":memory:", false, &s, err, sizeof(err)) == CP_OK);
    CHECK(cp_store_begin(s) == CP_OK);
    ev(s, "A", T0, "page", NULL);
    ev(s, "A", T0 + 10 * MIN, "product_viewed", NULL);
    ev(s, "A", T0 + 40 * MIN, "product_added", NULL); /* exactly 30 min later: same session */
    ev(s, "A", T0 + 71 * MIN, "page", NULL);          /* 31 min later: a new one */
    for (int i = 0; i < 80; i++)
        ev(s, "B", T0 + i * 20 * MIN, "page", NULL); /* 26.3 h, 20-min gaps */
    ev(s, "C", T0, "page", "s1");
    ev(s, "C", T0 + MIN, "page", "s1");
    ev(s, "C", T0 + 2 * MIN, "page", "s2");
    ev(s, "F", T0, "page", NULL); /* no client id yet: the session adopts s3 */
    ev(s, "F", T0 + MIN, "page", "s3");
    ev(s, "F", T0 + 2 * MIN, "page", NULL); /* none: still s3 */
    ev(s, "F", T0 + 3 * MIN, "page", "s4"); /* another: a new session */
    for (int i = 0; i < 16; i++) ev(s, "D", T0 + i * 1000, "page", NULL);
    for (int i = 0; i < 16; i++)
        ev(s, "E", T0 + i * 1000, i == 5 ? "product_viewed" : "page", NULL);
    CHECK(cp_store_commit(s) == CP_OK);
    CHECK(sessions_refresh(s, 30 * MIN, -1) == CP_OK);
    CHECK_INT(q(s, "SELECT count(*) FROM sessions WHERE identity = 'A'"), 2);
    CHECK_INT(q(s, "SELECT events FROM sessions WHERE identity = 'A' ORDER BY start_time LIMIT 1"),
              3);
    CHECK_INT(q(s, "SELECT count(*) FROM sessions WHERE identity = 'A' AND product_view AND cart "
                   "AND NOT checkout"),
              1);
    CHECK_INT(q(s, "SELECT count(*) FROM sessions WHERE identity = 'B'"), 2);
    CHECK_INT(q(s, "SELECT max(events) FROM sessions WHERE identity = 'B'"), 72);
    CHECK_INT(q(s, "SELECT count(*) FROM sessions WHERE identity = 'C'"), 2);
    CHECK_INT(
        q(s, "SELECT count(*) FROM sessions WHERE identity = 'C' AND session_id IN ('s1', 's2')"),
        2);
    CHECK_INT(q(s, "SELECT count(*) FROM sessions WHERE identity = 'F'"), 2);
    CHECK_INT(q(s, "SELECT events FROM sessions WHERE identity = 'F' AND session_id = 's3'"), 3);
    CHECK_INT(q(s, "SELECT events FROM sessions WHERE identity = 'F' AND session_id = 's4'"), 1);
    CHECK_INT(q(s, "SELECT is_bot::INT FROM sessions WHERE identity = 'D'"), 1);
    CHECK_INT(q(s, "SELECT is_bot::INT FROM sessions WHERE identity = 'E'"), 0);
    CHECK_INT(q(s, "SELECT count(*) FROM sessions WHERE session_id LIKE 's\\_%' ESCAPE '\\' AND "
                   "length(session_id) = 18"),
              6);
    /* A second refresh gives the same table. */
    CHECK(sessions_refresh(s, 30 * MIN, -1) == CP_OK);
    CHECK_INT(q(s, "SELECT count(*) FROM sessions"), 10);
    cp_store_close(s);
}

/* The whole table as one number, to compare an incremental refresh with a full one. */
static int64_t table_hash(cp_store *s)
{
    return q(s, "SELECT sum(hash(session_id, identity, start_time, end_time, events, pageviews, "
                "is_bot, product_view, cart, landing_path) % 1000000007) FROM sessions");
}

static void test_incremental(void)
{
    cp_store *s;
    char err[256];
    CHECK(cp_store_open(":memory:", false, &s, err, sizeof(err)) == CP_OK);
    off = 0;
    CHECK(cp_store_begin(s) == CP_OK);
    ev(s, "A", T0, "page", NULL);
    ev(s, "A", T0 + 10 * MIN, "product_viewed", NULL);
    ev(s, "A", T0 + 40 * MIN, "product_added", NULL);
    ev(s, "A", T0 + 71 * MIN, "page", NULL);
    ev(s, "B", T0, "page", NULL);
    ev(s, "B", T0 + 5 * MIN, "page", NULL);
    CHECK(cp_store_commit(s) == CP_OK);
    CHECK(sessions_refresh(s, 30 * MIN, -1) == CP_OK);
    int64_t since = off - 1;
    CHECK(cp_store_begin(s) == CP_OK);
    ev(s, "A", T0 + 72 * MIN, "page", NULL);
    ev(s, "A", T0 + 5 * MIN, "page", NULL); /* late: joins the first session */
    ev(s, "F", T0 + 3 * MIN, "page", NULL);
    CHECK(cp_store_commit(s) == CP_OK);
    CHECK(cp_store_exec(s, "UPDATE sessions SET landing_path = 'kept' WHERE identity = 'B'", err,
                        sizeof(err)) == CP_OK);
    CHECK(sessions_refresh(s, 30 * MIN, since) == CP_OK);
    CHECK_INT(q(s, "SELECT count(*) FROM sessions"), 4);
    CHECK_INT(q(s, "SELECT events FROM sessions WHERE identity = 'A' ORDER BY start_time LIMIT 1"),
              4);
    CHECK_INT(q(s, "SELECT events FROM sessions WHERE identity = 'A' ORDER BY start_time DESC "
                   "LIMIT 1"),
              2);
    CHECK_INT(q(s, "SELECT count(*) FROM sessions WHERE identity = 'F'"), 1);
    /* B had no new events: its row was left alone */
    CHECK_INT(q(s, "SELECT count(*) FROM sessions WHERE identity = 'B' AND landing_path = 'kept'"),
              1);
    CHECK(cp_store_exec(s, "UPDATE sessions SET landing_path = NULL WHERE identity = 'B'", err,
                        sizeof(err)) == CP_OK);
    int64_t incremental = table_hash(s);
    CHECK(sessions_refresh(s, 30 * MIN, -1) == CP_OK);
    CHECK_INT(table_hash(s), incremental);
    CHECK_INT(q(s, "SELECT count(*) FROM sessions"), 4);
    cp_store_close(s);
}

int main(void)
{
    RUN(test_rules);
    RUN(test_incremental);
    TEST_END();
}

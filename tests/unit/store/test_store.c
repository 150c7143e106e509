/* src/store/store.c: batches commit or roll back whole, checkpoints, query
 * output in each format, read-only queries, a failed sessions refresh. */
#include "clickpulse/error.h"
#include "clickpulse/store.h"
#include "test.h"

#include <unistd.h>

static cp_silver_event row(int64_t offset, const char *user, int64_t t)
{
    return (cp_silver_event){.offset = offset,
                             .msg_hash = (uint64_t)offset + 1,
                             .message_id = cp_slice_from("m"),
                             .type = CP_SLICE_LIT("track"),
                             .kind = CP_SLICE_LIT("order_completed"),
                             .user_id = cp_slice_from(user),
                             .identity = cp_slice_from(user),
                             .event_time_ms = t,
                             .received_at_ms = t,
                             .source = CP_SLICE_LIT("test"),
                             .has_revenue = true,
                             .revenue = 12.5 + (double)offset};
}

static int64_t scalar(cp_store *s, const char *sql)
{
    int64_t v = -1;
    bool null;
    CHECK(cp_store_scalar(s, sql, &v, &null) == CP_OK);
    return null ? -1 : v;
}

static char out[4096];

static const char *run_query(cp_store *s, const char *sql, cp_query_format f, int ro)
{
    char err[512];
    FILE *m = fmemopen(out, sizeof(out) - 1, "w");
    int rc = ro ? cp_store_query_readonly(s, sql, f, 0, m, err, sizeof(err))
                : cp_store_query(s, sql, f, 0, m, err, sizeof(err));
    long n = ftell(m);
    fclose(m);
    if (rc)
        snprintf(out, sizeof(out), "ERROR %s", err);
    else
        out[n] = 0;
    return out;
}

static void test_batches_and_checkpoints(void)
{
    cp_store *s;
    char err[256];
    CHECK(cp_store_open(":memory:", false, &s, err, sizeof(err)) == CP_OK);
    CHECK(cp_store_begin(s) == CP_OK);
    for (int i = 0; i < 3; i++) {
        cp_silver_event e = row(i, i ? "u2" : "u1", 1790856000000LL + i * 1000);
        CHECK(cp_store_add_event(s, &e) == CP_OK);
    }
    CHECK(cp_store_set_checkpoint(s, "log", 3) == CP_OK);
    CHECK(cp_store_commit(s) == CP_OK);
    CHECK(cp_store_begin(s) == CP_OK);
    cp_silver_event e = row(3, "u3", 1790856000000LL);
    CHECK(cp_store_add_event(s, &e) == CP_OK);
    CHECK(cp_store_set_checkpoint(s, "log", 4) == CP_OK);
    cp_dead_letter d = {.received_at_ms = 1790856000000LL,
                        .source = CP_SLICE_LIT("t"),
                        .reason = CP_SLICE_LIT("not_json"),
                        .detail = CP_SLICE_LIT("bad \xff byte"),
                        .raw = CP_SLICE_LIT("{\xff"),
                        .line = 9};
    CHECK(cp_store_add_dead_letter(s, &d) == CP_OK);
    cp_store_rollback(s);
    CHECK_INT(scalar(s, "SELECT count(*) FROM events"), 3);
    CHECK_INT(scalar(s, "SELECT count(*) FROM dead_letters"), 0);
    int64_t pos;
    bool found;
    CHECK(cp_store_get_checkpoint(s, "log", &pos, &found) == CP_OK && found);
    CHECK_INT(pos, 3);
    CHECK(cp_store_get_checkpoint(s, "file:x", &pos, &found) == CP_OK && !found);
    CHECK(cp_store_begin(s) == CP_OK);
    CHECK(cp_store_add_dead_letter(s, &d) == CP_OK);
    CHECK(cp_store_commit(s) == CP_OK);
    CHECK_STR(run_query(s, "SELECT detail, octet_length(raw) AS n, line FROM dead_letters",
                        CP_QUERY_CSV, 0),
              "detail,n,line\nbad ? byte,2,9\n");
    CHECK(cp_store_refresh_derived(s, -1, 3) == CP_OK);
    CHECK_INT(scalar(s, "SELECT count(*) FROM customers"), 2);
    CHECK_INT(scalar(s, "SELECT events FROM customers WHERE user_id = 'u2'"), 2);
    CHECK_INT(scalar(s, "SELECT position FROM checkpoints WHERE name = 'derived'"), 3);
    /* An incremental refresh rebuilds only the users of the new events. */
    CHECK(cp_store_exec(s, "UPDATE customers SET events = 99 WHERE user_id = 'u1'", err,
                        sizeof(err)) == CP_OK);
    CHECK(cp_store_begin(s) == CP_OK);
    e = row(4, "u2", 1790856009000LL);
    CHECK(cp_store_add_event(s, &e) == CP_OK);
    CHECK(cp_store_commit(s) == CP_OK);
    CHECK(cp_store_refresh_derived(s, 3, 4) == CP_OK);
    CHECK_INT(scalar(s, "SELECT events FROM customers WHERE user_id = 'u2'"), 3);
    CHECK_INT(scalar(s, "SELECT last_offset FROM customers WHERE user_id = 'u2'"), 4);
    CHECK_INT(scalar(s, "SELECT events FROM customers WHERE user_id = 'u1'"), 99);
    CHECK_INT(scalar(s, "SELECT count(*) FROM customers"), 2);
    CHECK_INT(scalar(s, "SELECT position FROM checkpoints WHERE name = 'derived'"), 4);
    cp_store_close(s);
}

static void test_query_formats(void)
{
    cp_store *s;
    char err[256];
    CHECK(cp_store_open(":memory:", false, &s, err, sizeof(err)) == CP_OK);
    const char *sql = "SELECT * FROM (VALUES (1, 'a,b', NULL::VARCHAR, 2.50::DECIMAL(4,2)), "
                      "(22, 'say \"hi\"', 'x', 10.00)) t(n, s, z, d)";
    CHECK_STR(run_query(s, sql, CP_QUERY_CSV, 0),
              "n,s,z,d\n1,\"a,b\",,2.50\n22,\"say \"\"hi\"\"\",x,10.00\n");
    CHECK_STR(run_query(s, sql, CP_QUERY_JSON, 0),
              "[{\"n\":1,\"s\":\"a,b\",\"z\":null,\"d\":2.50},\n {\"n\":22,\"s\":\"say "
              "\\\"hi\\\"\",\"z\":\"x\",\"d\":10.00}]\n");
    CHECK_STR(
        run_query(s, sql, CP_QUERY_TABLE, 0),
        "n  | s        | z    | d    \n---+----------+------+------\n 1 | a,b      | NULL |  2.50\n"
        "22 | say \"hi\" | x    | 10.00\n(2 rows)\n");
    CHECK_STR(run_query(s, "SELECT 1 AS one", CP_QUERY_CSV, 1), "one\n1\n");
    /* a column as wide as its name when its values are narrower; an ENUM as its name */
    CHECK_STR(
        run_query(s, "SELECT 'a'::ENUM('a', 'bb') AS longname, 7 AS count", CP_QUERY_TABLE, 0),
        "longname | count\n---------+------\na        |     7\n(1 row)\n");
    CHECK_STR(run_query(s, "SELECT 'bb'::ENUM('a', 'bb') AS e", CP_QUERY_JSON, 0),
              "[{\"e\":\"bb\"}]\n");
    CHECK_STR(run_query(s, "SELECT TIMESTAMPTZ '2026-10-01 12:34:56.789+02' AS t", CP_QUERY_CSV, 0),
              "t\n2026-10-01T10:34:56.789Z\n");
    /* a list or a struct: streamed as DuckDB's text of it, the other columns as they are */
    const char *nested =
        "SELECT * FROM (VALUES ([1, 2], {'k': 'a,b'}, NULL::INT, 1.5::DECIMAL(3,1), "
        "TIMESTAMPTZ '2026-10-01 12:00:00+00'), ([3], NULL, 7, -2.0, NULL)) "
        "t(l, st, n, d, t)";
    CHECK_STR(
        run_query(s, nested, CP_QUERY_CSV, 0),
        "l,st,n,d,t\n\"[1, 2]\",\"{'k': 'a,b'}\",,1.5,2026-10-01T12:00:00.000Z\n[3],,7,-2.0,\n");
    CHECK_STR(run_query(s, nested, CP_QUERY_JSON, 0),
              "[{\"l\":\"[1, 2]\",\"st\":\"{'k': 'a,b'}\",\"n\":null,\"d\":1.5,"
              "\"t\":\"2026-10-01T12:00:00.000Z\"},\n {\"l\":\"[3]\",\"st\":null,\"n\":7,"
              "\"d\":-2.0,\"t\":null}]\n");
    CHECK_STR(run_query(s, nested, CP_QUERY_TABLE, 0),
              "l      | st           | n    | d    | t                       \n"
              "-------+--------------+------+------+-------------------------\n"
              "[1, 2] | {'k': 'a,b'} | NULL |  1.5 | 2026-10-01T12:00:00.000Z\n"
              "[3]    | NULL         |    7 | -2.0 | NULL                    \n(2 rows)\n");
    CHECK_STR(
        run_query(s, "SELECT [1] AS \"a\"\"b\", {'x': [2]} AS a; -- the end", CP_QUERY_CSV, 1),
        "\"a\"\"b\",a\n[1],{'x': [2]}\n");
    CHECK_STR(run_query(s, "DELETE FROM events", CP_QUERY_CSV, 1),
              "ERROR only read-only statements (SELECT, WITH ..., EXPLAIN) are allowed here");
    CHECK(strncmp(run_query(s, "SELEC 1", CP_QUERY_CSV, 0), "ERROR Parser Error", 18) == 0);
    cp_store_close(s);
}

/* A sessions refresh that fails at its start leaves no transaction open: the connection
 * goes on (it used to stay in an aborted transaction, failing every statement after), and
 * the error says what failed. */
static void test_sessions_begin_fails(void)
{
    cp_store *s;
    char err[256];
    CHECK(cp_store_open(":memory:", false, &s, err, sizeof(err)) == CP_OK);
    CHECK_INT(cp_store_exec(s, "ALTER TABLE sessions RENAME TO gone", err, sizeof(err)), CP_OK);
    CHECK_INT(cp_store_sessions_begin(s, 5), CP_EDB);
    CHECK(strstr(cp_store_error(s), "sessions") != NULL);
    CHECK(strstr(cp_store_error(s), "ROLLBACK") == NULL);
    CHECK_INT(cp_store_exec(s, "BEGIN TRANSACTION", err, sizeof(err)), CP_OK); /* none open */
    CHECK_INT(cp_store_exec(s, "ROLLBACK", err, sizeof(err)), CP_OK);
    CHECK_INT(cp_store_set_checkpoint(s, "log", 7), CP_OK);
    int64_t v = 0;
    bool found;
    CHECK(cp_store_get_checkpoint(s, "log", &v, &found) == CP_OK && found);
    CHECK_INT(v, 7);
    cp_store_close(s);
}

/* store.threads: a number sets DuckDB's threads; 0 takes half the online cores, at least
 * one. */
static void test_threads(void)
{
    cp_store *s;
    char err[256];
    CHECK(cp_store_open(":memory:", false, &s, err, sizeof(err)) == CP_OK);
    CHECK_INT(cp_store_set_threads(s, 3), CP_OK);
    CHECK_INT(scalar(s, "SELECT current_setting('threads')"), 3);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK_INT(cp_store_set_threads(s, 0), CP_OK);
    CHECK_INT(scalar(s, "SELECT current_setting('threads')"), cores > 1 ? cores / 2 : 1);
    cp_store_close(s);
}

int main(void)
{
    RUN(test_batches_and_checkpoints);
    RUN(test_query_formats);
    RUN(test_sessions_begin_fails);
    RUN(test_threads);
    TEST_END();
}

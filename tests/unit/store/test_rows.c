/* src/store/rows.c, through the store: silver's events appended a data chunk at a time
 * (across chunks, with NULLs, exact amounts), a rollback that drops the gathered rows,
 * columns of names as ENUMs (made from text, values kept, names refused), and a table
 * the chunks cannot write. */
#include "clickpulse/error.h"
#include "clickpulse/store.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

static const char *const kinds[] = {"page", "order_completed", "custom"};

static int64_t scalar(cp_store *s, const char *sql)
{
    int64_t v = -1;
    bool null;
    CHECK(cp_store_scalar(s, sql, &v, &null) == CP_OK);
    return null ? -1 : v;
}

/* Event i: every fifth without a page, every third an order of i cents. */
static int add(cp_store *s, int64_t i, const char *kind)
{
    char id[32], url[64];
    snprintf(id, sizeof(id), "m-%lld", (long long)i);
    snprintf(url, sizeof(url), "https://shop.example/p/%lld?q=ü", (long long)i);
    cp_silver_event e = {.offset = i,
                         .msg_hash = (uint64_t)i * 7919u + 1,
                         .delivery_hash = UINT64_MAX - (uint64_t)i,
                         .message_id = cp_slice_from(id),
                         .type = CP_SLICE_LIT("track"),
                         .kind = cp_slice_from(kind),
                         .user_id = i % 2 ? CP_SLICE_LIT("u-odd") : CP_SLICE_NULL,
                         .identity = CP_SLICE_LIT("who"),
                         .event_time_ms = 1790000000000 + i * 1000,
                         .received_at_ms = 1790000000000 + i * 1000 + 5,
                         .source = CP_SLICE_LIT("test"),
                         .page_url = i % 5 ? cp_slice_from(url) : CP_SLICE_NULL,
                         .device_type = CP_SLICE_LIT("mobile"),
                         .is_bot = i % 7 == 0,
                         .has_revenue = i % 3 == 0,
                         .revenue = i,
                         .properties = CP_SLICE_LIT("{\"a\":1}")};
    return cp_store_add_event(s, &e);
}

static void test_chunks(void)
{
    cp_store *s;
    char err[256];
    CHECK_INT(cp_store_open(":memory:", false, &s, err, sizeof(err)), CP_OK);
    enum { N = 5000 }; /* over two chunks of 2,048 */
    CHECK_INT(cp_store_begin(s), CP_OK);
    for (int64_t i = 0; i < N; i++) CHECK_INT(add(s, i, kinds[i % 3]), CP_OK);
    CHECK_INT(cp_store_commit(s), CP_OK);
    CHECK_INT(scalar(s, "SELECT count(*) FROM events"), N);
    CHECK_INT(scalar(s, "SELECT sum(\"offset\") FROM events"), (int64_t)N * (N - 1) / 2);
    CHECK_INT(scalar(s, "SELECT count(*) FROM events WHERE page_url IS NULL"), N / 5);
    CHECK_INT(scalar(s, "SELECT count(*) FROM events WHERE user_id = 'u-odd'"), N / 2);
    CHECK_INT(scalar(s, "SELECT count(*) FROM events WHERE is_bot"), (N + 6) / 7);
    /* Σ of i for i ≡ 0 (mod 3), in cents: exact */
    CHECK_INT(scalar(s, "SELECT CAST(sum(revenue) * 100 AS BIGINT) FROM events"),
              3 * (int64_t)(N / 3) * (N / 3 + 1) / 2);
    CHECK_INT(scalar(s, "SELECT count(*) FROM events WHERE revenue IS NULL"), N - (N + 2) / 3);
    CHECK_INT(scalar(s, "SELECT count(*) FROM events WHERE \"offset\" = 4097 AND message_id = "
                        "'m-4097' AND page_url = 'https://shop.example/p/4097?q=ü' AND msg_hash = "
                        "4097 * 7919 + 1 AND delivery_hash = 18446744073709551615 - 4097 AND "
                        "epoch_ms(event_time) = 1790004097000 AND epoch_ms(received_at) = "
                        "1790004097005 AND event_date = DATE '2026-09-21' AND kind = "
                        "'custom' AND properties = '{\"a\":1}'"),
              1);
    /* a rollback drops the rows gathered, the next batch starts empty */
    CHECK_INT(cp_store_begin(s), CP_OK);
    for (int64_t i = N; i < N + 3000; i++) CHECK_INT(add(s, i, "page"), CP_OK);
    cp_store_rollback(s);
    CHECK_INT(cp_store_begin(s), CP_OK);
    CHECK_INT(add(s, 9999, "page"), CP_OK);
    CHECK_INT(cp_store_commit(s), CP_OK);
    CHECK_INT(scalar(s, "SELECT count(*) FROM events"), N + 1);
    cp_store_close(s);
}

static void test_enum_columns(void)
{
    cp_store *s;
    char err[256];
    CHECK_INT(cp_store_open(":memory:", false, &s, err, sizeof(err)), CP_OK);
    /* a database from before: kind as text, with a name no longer in the list */
    CHECK_INT(cp_store_begin(s), CP_OK);
    CHECK_INT(add(s, 1, "page"), CP_OK);
    CHECK_INT(add(s, 2, "older_kind"), CP_OK);
    CHECK_INT(add(s, 3, "custom"), CP_OK);
    CHECK_INT(cp_store_commit(s), CP_OK);
    CHECK_INT(cp_store_enum_column(s, "events", "kind", kinds, 3), CP_OK);
    CHECK_INT(scalar(s, "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'events' AND "
                        "column_name = 'kind' AND data_type = "
                        "'ENUM(''page'', ''order_completed'', ''custom'', ''older_kind'')'"),
              1);
    CHECK_INT(scalar(s, "SELECT count(*) FROM events WHERE kind = 'older_kind' AND \"offset\" = 2"),
              1);
    CHECK_INT(scalar(s, "SELECT sum(\"offset\") FROM events WHERE kind IN ('page', 'custom')"), 4);
    /* again: nothing to change */
    CHECK_INT(cp_store_enum_column(s, "events", "kind", kinds, 3), CP_OK);
    CHECK_INT(scalar(s, "SELECT enum_code(kind) FROM events WHERE \"offset\" = 2"), 3);
    /* names go in as their codes, the kept one too; a name not in it is refused */
    CHECK_INT(cp_store_begin(s), CP_OK);
    CHECK_INT(add(s, 4, "order_completed"), CP_OK);
    CHECK_INT(add(s, 5, "older_kind"), CP_OK);
    CHECK_INT(add(s, 6, "unheard_of"), CP_EDB);
    CHECK(strstr(cp_store_error(s), "'unheard_of' is not one of column 6's names") != NULL);
    cp_store_rollback(s);
    CHECK_INT(cp_store_begin(s), CP_OK);
    CHECK_INT(add(s, 4, "order_completed"), CP_OK);
    CHECK_INT(add(s, 5, "older_kind"), CP_OK);
    CHECK_INT(cp_store_commit(s), CP_OK);
    CHECK_INT(scalar(s, "SELECT count(*) FROM events WHERE kind = 'older_kind'"), 2);
    CHECK_INT(scalar(s, "SELECT enum_code(kind) FROM events WHERE \"offset\" = 4"), 1);
    cp_store_close(s);
}

static void test_unwritable_table(void)
{
    cp_store *s;
    char err[256];
    CHECK_INT(cp_store_open(":memory:", false, &s, err, sizeof(err)), CP_OK);
    CHECK_INT(
        cp_store_exec(s, "ALTER TABLE events ALTER revenue TYPE DECIMAL(38,4)", err, sizeof(err)),
        CP_OK);
    CHECK_INT(cp_store_begin(s), CP_EDB);
    CHECK(strstr(cp_store_error(s), "a column of a type silver does not write") != NULL);
    CHECK_INT(cp_store_exec(s,
                            "ALTER TABLE events ALTER revenue TYPE DECIMAL(18,2);"
                            "ALTER TABLE events ADD COLUMN extra INTEGER",
                            err, sizeof(err)),
              CP_OK);
    CHECK_INT(cp_store_begin(s), CP_OK);
    CHECK_INT(add(s, 1, "page"), CP_EDB);
    CHECK(strstr(cp_store_error(s), "other columns than silver writes") != NULL);
    cp_store_rollback(s);
    cp_store_close(s);
}

int main(void)
{
    RUN(test_chunks);
    RUN(test_enum_columns);
    RUN(test_unwritable_table);
    TEST_END();
}

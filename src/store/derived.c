/* The tables the store derives from silver's events: identities and customers, sessions
 * (recomputed in SQL, or written whole by the writer that keeps them), and the streaming
 * scans the pipeline rebuilds its state from. */
#include "clickpulse/store.h"

#include "internal.h"
#include "clickpulse/error.h"

#include <assert.h>
#include <duckdb.h>
#include <stdio.h>
#include <string.h>

/* ---- identities and customers ---- */

/* The rows of the people whose events came after `since` (all of them when since < 0):
 * the anonymous ids and users named by those events (and the users those anonymous ids
 * are linked to), rebuilt from every event of theirs. A customer's first_seen counts the
 * anonymous browsing of the devices linked to them. */
int cp_store_refresh_derived(cp_store *s, int64_t since, int64_t upto)
{
    char anon[160] = "", users[400] = "", linked[410] = "";
    if (since >= 0) {
        snprintf(anon, sizeof(anon),
                 " AND anonymous_id IN (SELECT anonymous_id FROM events WHERE \"offset\" > %lld)",
                 (long long)since);
        snprintf(users, sizeof(users),
                 " AND user_id IN (SELECT user_id FROM events WHERE \"offset\" > %lld UNION "
                 "SELECT user_id FROM identity_map WHERE anonymous_id IN (SELECT anonymous_id "
                 "FROM events WHERE \"offset\" > %lld))",
                 (long long)since, (long long)since);
        snprintf(linked, sizeof(linked), " AND m.%s", users + 5); /* "m.user_id IN (…)" */
    }
    cp_buf q;
    cp_buf_init(&q);
    cp_buf_appendf(&q,
                   "BEGIN TRANSACTION;"
                   "DELETE FROM identity_map WHERE true%s;"
                   "INSERT INTO identity_map SELECT anonymous_id, arg_min(user_id, (event_time, "
                   "\"offset\")), "
                   "min(event_time) FROM events WHERE anonymous_id IS NOT NULL AND user_id IS NOT "
                   "NULL%s GROUP BY anonymous_id;"
                   "DELETE FROM customers WHERE true%s;"
                   "INSERT INTO customers SELECT c.user_id, c.email, c.email_domain, c.name, "
                   "c.country, least(c.first_seen, l.first_seen), c.last_seen, c.signed_up_at, "
                   "c.events, c.last_offset FROM (SELECT user_id, arg_max(email, (event_time, "
                   "\"offset\")) FILTER (email IS NOT NULL) AS email, arg_max(email_domain, "
                   "(event_time, \"offset\")) FILTER (email_domain IS NOT NULL) AS email_domain, "
                   "arg_max(name, (event_time, \"offset\")) FILTER (name IS NOT NULL) AS name, "
                   "arg_max(country, (event_time, \"offset\")) FILTER (country IS NOT NULL) AS "
                   "country, min(event_time) AS first_seen, max(event_time) AS "
                   "last_seen, min(event_time) FILTER (kind = 'signed_up') AS signed_up_at, "
                   "count(*) AS events, max(\"offset\") AS last_offset FROM events WHERE user_id "
                   "IS NOT NULL%s GROUP BY user_id) c LEFT JOIN (SELECT m.user_id, "
                   "min(e.event_time) AS first_seen FROM identity_map m JOIN events e ON "
                   "e.anonymous_id = m.anonymous_id WHERE true%s GROUP BY 1) l USING (user_id);",
                   anon, anon, users, users, linked);
    int rc = q.ptr ? store_exec(s, q.ptr) : CP_ENOMEM;
    cp_buf_free(&q);
    if (rc == CP_OK) rc = cp_store_set_checkpoint(s, CP_DERIVED_CHECKPOINT, upto);
    if (rc == CP_OK) return store_exec(s, "COMMIT");
    store_rollback(s);
    return rc;
}

int cp_store_people_begin(cp_store *s)
{
    if (store_exec(s, "BEGIN TRANSACTION; DELETE FROM identity_map; DELETE FROM customers")) {
        store_rollback(s);
        return CP_EDB;
    }
    if (duckdb_appender_create(s->con, NULL, "identity_map", &s->people[0]) == DuckDBError ||
        duckdb_appender_create(s->con, NULL, "customers", &s->people[1]) == DuckDBError) {
        int rc = store_fail(s, "appender", "identity_map, customers");
        cp_store_people_end(s, -1, false);
        return rc;
    }
    return CP_OK;
}

int cp_store_add_identity(cp_store *s, cp_slice anonymous_id, cp_slice user_id, int64_t first_ms)
{
    duckdb_appender a = s->people[0];
    store_put_text(a, anonymous_id);
    store_put_text(a, user_id);
    store_put_time(a, first_ms);
    return duckdb_appender_end_row(a) == DuckDBError
               ? store_fail(s, "identity_map", duckdb_appender_error(a))
               : CP_OK;
}

int cp_store_add_customer(cp_store *s, const cp_customer_row *c)
{
    duckdb_appender a = s->people[1];
    const cp_slice text[] = {c->user_id, c->email, c->email_domain, c->name, c->country};
    for (size_t i = 0; i < sizeof(text) / sizeof(*text); i++) store_put_text(a, text[i]);
    store_put_time(a, c->first_ms);
    store_put_time(a, c->last_ms);
    if (c->signed_up_ms == INT64_MIN)
        duckdb_append_null(a);
    else
        store_put_time(a, c->signed_up_ms);
    duckdb_append_int64(a, c->events);
    duckdb_append_int64(a, c->last_offset);
    return duckdb_appender_end_row(a) == DuckDBError
               ? store_fail(s, "customers", duckdb_appender_error(a))
               : CP_OK;
}

int cp_store_people_end(cp_store *s, int64_t upto, bool commit)
{
    int rc = commit ? CP_OK : CP_ESTATE;
    for (int i = 0; i < 2; i++) {
        if (!s->people[i]) continue;
        if (rc == CP_OK && duckdb_appender_flush(s->people[i]) == DuckDBError)
            rc = store_fail(s, i ? "customers" : "identity_map",
                            duckdb_appender_error(s->people[i]));
        duckdb_appender_destroy(&s->people[i]);
        s->people[i] = NULL;
    }
    if (rc == CP_OK) rc = cp_store_set_checkpoint(s, CP_DERIVED_CHECKPOINT, upto);
    if (rc == CP_OK) rc = store_exec(s, "COMMIT");
    if (rc != CP_OK) store_rollback(s);
    return rc;
}

/* ---- reading results in chunks ---- */

cp_slice store_str_at(store_col c, idx_t row)
{
    /* an ENUM or a number read as text: CAST it */
    assert(c.type == DUCKDB_TYPE_VARCHAR || c.type == DUCKDB_TYPE_BLOB);
    if (c.valid && !duckdb_validity_row_is_valid(c.valid, row)) return CP_SLICE_NULL;
    duckdb_string_t *v = &((duckdb_string_t *)c.data)[row];
    return (cp_slice){duckdb_string_t_data(v), duckdb_string_t_length(*v)};
}

void store_get_cols(duckdb_data_chunk ch, store_col *cols, idx_t n)
{
    for (idx_t i = 0; i < n; i++) {
        duckdb_vector v = duckdb_data_chunk_get_vector(ch, i);
        cols[i].data = duckdb_vector_get_data(v);
        cols[i].valid = duckdb_vector_get_validity(v);
        duckdb_logical_type t = duckdb_vector_get_column_type(v);
        cols[i].type = duckdb_get_type_id(t);
        duckdb_destroy_logical_type(&t);
    }
}

/* Runs sql on the scan connection as a streaming result (chunks, bounded memory). */
static int stream(cp_store *s, const char *sql, duckdb_result *r)
{
    duckdb_prepared_statement st;
    duckdb_pending_result pending;
    if (store_refused(s)) return CP_EDB;
    if (!s->scan && duckdb_connect(s->db, &s->scan) == DuckDBError)
        return store_fail(s, "scan", "connect");
    if (duckdb_prepare(s->scan, sql, &st) == DuckDBError) {
        int rc = store_fail(s, "scan", duckdb_prepare_error(st));
        duckdb_destroy_prepare(&st);
        return rc;
    }
    int rc = CP_OK;
    if (duckdb_pending_prepared_streaming(st, &pending) == DuckDBError) {
        rc = store_fail(s, "scan", duckdb_pending_error(pending));
    } else if (duckdb_execute_pending(pending, r) == DuckDBError) {
        rc = store_fail(s, "scan", duckdb_result_error(r));
        duckdb_destroy_result(r);
    }
    duckdb_destroy_pending(&pending);
    duckdb_destroy_prepare(&st);
    return rc;
}

/* The condition naming the identities a sessions refresh from `since` is about. */
static void sessions_of(int64_t since, char *out, size_t cap)
{
    if (since == CP_SESSIONS_TODO)
        snprintf(out, cap, "identity IN (SELECT identity FROM sessions_todo)");
    else
        snprintf(out, cap, "identity IN (SELECT identity FROM events WHERE \"offset\" > %lld)",
                 (long long)since);
}

int cp_store_sessions_todo(cp_store *s, const cp_slice *ids, size_t n)
{
    if (!n) return store_exec(s, "DROP TABLE IF EXISTS sessions_todo");
    if (store_exec(s, "CREATE OR REPLACE TABLE sessions_todo (identity VARCHAR)")) return CP_EDB;
    duckdb_appender a;
    if (duckdb_appender_create(s->con, NULL, "sessions_todo", &a) == DuckDBError)
        return store_fail(s, "appender", "sessions_todo");
    int rc = CP_OK;
    for (size_t i = 0; i < n && rc == CP_OK; i++) {
        store_put_text(a, ids[i]);
        if (duckdb_appender_end_row(a) == DuckDBError)
            rc = store_fail(s, "sessions_todo", duckdb_appender_error(a));
    }
    if (rc == CP_OK && duckdb_appender_flush(a) == DuckDBError)
        rc = store_fail(s, "sessions_todo", duckdb_appender_error(a));
    duckdb_appender_destroy(&a);
    return rc;
}

int cp_store_sessions_begin(cp_store *s, int64_t since)
{
    char sql[512], which[160];
    sessions_of(since, which, sizeof(which));
    if (since == CP_SESSIONS_NONE)
        snprintf(sql, sizeof(sql), "BEGIN TRANSACTION");
    else if (since < 0 && since != CP_SESSIONS_TODO)
        snprintf(sql, sizeof(sql), "BEGIN TRANSACTION; DELETE FROM sessions");
    else
        snprintf(sql, sizeof(sql), "BEGIN TRANSACTION; DELETE FROM sessions WHERE %s", which);
    if (store_exec(s, sql)) { /* the transaction may have begun: not left open, aborted */
        store_rollback(s);
        return CP_EDB;
    }
    if (duckdb_appender_create(s->con, NULL, "sessions", &s->sessions) == DuckDBError) {
        store_rollback(s);
        return store_fail(s, "appender", "sessions");
    }
    return CP_OK;
}

static int add_session_row(cp_store *s, duckdb_appender a, const cp_session_row *r)
{
    store_put_text(a, r->session_id);
    store_put_text(a, r->identity);
    store_put_text(a, r->user_id);
    store_put_time(a, r->start_ms);
    store_put_time(a, r->end_ms);
    store_put_date(a, r->start_ms);
    duckdb_append_double(a, (double)(r->end_ms - r->start_ms) / 1000.0);
    duckdb_append_int64(a, r->events);
    duckdb_append_int64(a, r->pageviews);
    duckdb_append_bool(a, r->is_bot);
    duckdb_append_bool(a, r->product_view);
    duckdb_append_bool(a, r->cart);
    duckdb_append_bool(a, r->checkout);
    duckdb_append_bool(a, r->purchase);
    store_put_text(a, r->landing_path);
    store_put_text(a, r->utm_source);
    store_put_text(a, r->utm_medium);
    store_put_text(a, r->utm_campaign);
    store_put_text(a, r->country);
    store_put_text(a, r->device_type);
    if (duckdb_appender_end_row(a) == DuckDBError)
        return store_fail(s, "sessions", duckdb_appender_error(a));
    return CP_OK;
}

int cp_store_add_session(cp_store *s, const cp_session_row *r)
{
    return add_session_row(s, s->sessions, r);
}

int cp_store_add_batch_session(cp_store *s, const cp_session_row *r)
{
    return add_session_row(s, s->app[APP_SESSIONS], r);
}

int cp_store_sessions_end(cp_store *s, bool commit)
{
    int rc = commit ? CP_OK : CP_ESTATE; /* not to commit: rolled back */
    if (rc == CP_OK && duckdb_appender_flush(s->sessions) == DuckDBError)
        rc = store_fail(s, "sessions", duckdb_appender_error(s->sessions));
    duckdb_appender_destroy(&s->sessions);
    s->sessions = NULL;
    if (rc == CP_OK) rc = store_exec(s, "COMMIT");
    if (rc != CP_OK) store_rollback(s);
    return rc;
}

/* Streams sql's rows (ncols columns, at most 16) to fn one by one; fn's error stops it. */
typedef int (*row_fn)(void *ctx, const store_col *c, idx_t row);
static int scan_rows(cp_store *s, const char *sql, idx_t ncols, row_fn fn, void *ctx)
{
    duckdb_result r;
    int rc = stream(s, sql, &r);
    if (rc) return rc;
    duckdb_data_chunk ch;
    while (rc == CP_OK && (ch = duckdb_stream_fetch_chunk(r))) {
        store_col c[16];
        store_get_cols(ch, c, ncols);
        idx_t n = duckdb_data_chunk_get_size(ch);
        for (idx_t i = 0; i < n && rc == CP_OK; i++) rc = fn(ctx, c, i);
        duckdb_destroy_data_chunk(&ch);
    }
    duckdb_destroy_result(&r);
    return rc;
}

typedef struct session_scan {
    int (*fn)(void *ud, const cp_session_event *e);
    void *ud;
} session_scan;

static int session_row(void *ctx, const store_col *c, idx_t i)
{
    session_scan *x = ctx;
    cp_session_event e = {.identity = store_str_at(c[0], i),
                          .user_id = store_str_at(c[1], i),
                          .session_id = store_str_at(c[2], i),
                          .kind = store_str_at(c[3], i),
                          .page_path = store_str_at(c[4], i),
                          .utm_source = store_str_at(c[5], i),
                          .utm_medium = store_str_at(c[6], i),
                          .utm_campaign = store_str_at(c[7], i),
                          .country = store_str_at(c[8], i),
                          .device_type = store_str_at(c[9], i),
                          .time_ms = ((int64_t *)c[10].data)[i],
                          .offset = ((int64_t *)c[11].data)[i],
                          .is_bot = ((bool *)c[12].data)[i]};
    return x->fn(x->ud, &e);
}

int cp_store_scan_for_sessions(cp_store *s, int64_t since,
                               int (*fn)(void *ud, const cp_session_event *e), void *ud)
{
    char only[180] = "", which[160], sql[700];
    sessions_of(since, which, sizeof(which));
    if (since >= 0 || since == CP_SESSIONS_TODO) /* the scan's own connection: committed rows */
        snprintf(only, sizeof(only), " WHERE %s", which);
    snprintf(sql, sizeof(sql),
             "SELECT identity, user_id, session_id, CAST(kind AS VARCHAR), page_path, utm_source, "
             "utm_medium, utm_campaign, country, CAST(device_type AS VARCHAR), "
             "epoch_ms(event_time), \"offset\", is_bot FROM events%s ORDER BY identity, "
             "event_time, \"offset\"",
             only);
    return scan_rows(s, sql, 13, session_row, &(session_scan){fn, ud});
}

typedef struct hash_scan {
    int (*fn)(void *ud, uint64_t msg, uint64_t delivery, int64_t recv_ms);
    void *ud;
} hash_scan;

static int hash_row(void *ctx, const store_col *c, idx_t i)
{
    hash_scan *h = ctx;
    return h->fn(h->ud, ((uint64_t *)c[0].data)[i], ((uint64_t *)c[1].data)[i],
                 ((int64_t *)c[2].data)[i]);
}

int cp_store_scan_hashes(cp_store *s, int64_t since_ms, int64_t until_ms,
                         int (*fn)(void *ud, uint64_t msg, uint64_t delivery, int64_t recv_ms),
                         void *ud)
{
    char sql[320];
    snprintf(sql, sizeof(sql),
             "SELECT msg_hash, delivery_hash, epoch_ms(received_at) FROM events WHERE received_at "
             ">= make_timestamp(%lld) AND received_at < make_timestamp(%lld) "
             "ORDER BY \"offset\" DESC",
             (long long)since_ms * 1000,
             (long long)(until_ms > INT64_MAX / 1000 ? INT64_MAX / 1000 : until_ms) * 1000);
    return scan_rows(s, sql, 3, hash_row, &(hash_scan){fn, ud});
}

typedef struct rt_scan {
    int (*minute)(void *ud, const cp_rt_minute *r);
    int (*top)(void *ud, const cp_rt_top *r);
    void *ud;
} rt_scan;

static int rt_minute_row(void *ctx, const store_col *c, idx_t i)
{
    rt_scan *x = ctx;
    cp_rt_minute m = {.minute_ms = ((int64_t *)c[0].data)[i]};
    int64_t *v[] = {&m.events, &m.pageviews, &m.visitors, &m.sessions, &m.converted, &m.orders};
    for (int k = 0; k < 6; k++) *v[k] = ((int64_t *)c[1 + k].data)[i];
    m.revenue = ((int64_t *)c[7].data)[i];
    m.bots = ((int64_t *)c[8].data)[i];
    for (int k = 0; k < 5; k++) m.funnel[k] = ((int64_t *)c[9 + k].data)[i];
    m.hll = store_str_at(c[14], i);
    return x->minute(x->ud, &m);
}

static int rt_top_row(void *ctx, const store_col *c, idx_t i)
{
    rt_scan *x = ctx;
    char dim[32];
    cp_slice d = store_str_at(c[1], i);
    snprintf(dim, sizeof(dim), "%.*s", (int)d.len, d.ptr ? d.ptr : "");
    cp_rt_top t = {.minute_ms = ((int64_t *)c[0].data)[i],
                   .dim = dim,
                   .key = store_str_at(c[2], i),
                   .n = ((int64_t *)c[3].data)[i],
                   .orders = ((int64_t *)c[4].data)[i],
                   .revenue = ((int64_t *)c[5].data)[i]};
    return x->top(x->ud, &t);
}

int cp_store_scan_rt(cp_store *s, int64_t since_ms, int (*minute)(void *ud, const cp_rt_minute *r),
                     int (*top)(void *ud, const cp_rt_top *r), void *ud)
{
    char sql[512];
    rt_scan x = {minute, top, ud};
    snprintf(sql, sizeof(sql),
             "SELECT epoch_ms(minute), events, pageviews, visitors, sessions, converted, orders, "
             "CAST(round(revenue * 100) AS BIGINT), bots, funnel_page, funnel_product, "
             "funnel_cart, funnel_checkout, "
             "funnel_order, visitors_hll FROM rt_minute WHERE minute >= make_timestamp(%lld)",
             (long long)since_ms * 1000);
    int rc = scan_rows(s, sql, 15, rt_minute_row, &x);
    if (rc) return rc;
    snprintf(sql, sizeof(sql),
             "SELECT epoch_ms(minute), dim, key, n, orders, CAST(round(revenue * 100) AS BIGINT) "
             "FROM rt_minute_top "
             "WHERE minute >= make_timestamp(%lld)",
             (long long)since_ms * 1000);
    return scan_rows(s, sql, 6, rt_top_row, &x);
}

typedef struct dead_scan {
    int (*fn)(void *ud, cp_slice source, cp_slice at, int64_t recv_ms);
    void *ud;
} dead_scan;

static int dead_row(void *ctx, const store_col *c, idx_t i)
{
    dead_scan *x = ctx;
    return x->fn(x->ud, store_str_at(c[0], i), store_str_at(c[1], i), ((int64_t *)c[2].data)[i]);
}

int cp_store_scan_dead_letters(cp_store *s, int64_t since_ms,
                               int (*fn)(void *ud, cp_slice source, cp_slice at, int64_t recv_ms),
                               void *ud)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT source, delivery, epoch_ms(received_at) FROM dead_letters WHERE received_at "
             ">= make_timestamp(%lld)",
             (long long)since_ms * 1000);
    return scan_rows(s, sql, 3, dead_row, &(dead_scan){fn, ud});
}

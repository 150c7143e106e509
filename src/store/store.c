/* The DuckDB store: schema, batch transactions with appenders, checkpoints,
 * derived identity and customer tables, sessions, and query output. */
#include "clickpulse/store.h"

#include "internal.h"
#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"
#include "schema.sql.h"

#include <assert.h>
#include <ctype.h>
#include <duckdb.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const app_tables[APP__COUNT] = {"events",    "orders",        "order_items",
                                                   "refunds",   "dead_letters",  "duplicates",
                                                   "rt_minute", "rt_minute_top", "sessions"};

int store_fail(cp_store *s, const char *what, const char *msg)
{
    snprintf(s->error, sizeof(s->error), "%s: %s", what, msg ? msg : "unknown DuckDB error");
    return CP_EDB;
}

const char *cp_store_error(const cp_store *s)
{
    return s->error;
}

/* A statement about to start on an interrupted store: refused, with the reason in s. */
int store_refused(cp_store *s)
{
    return atomic_load(&s->interrupted) ? store_fail(s, "query", "interrupted") : CP_OK;
}

/* A ROLLBACK is let through: it undoes the interrupted work rather than adding to it (a
 * transaction left open would fail the next attempt's BEGIN). */
static bool is_rollback(const char *sql)
{
    return strncmp(sql, "ROLLBACK", 8) == 0;
}

int cp_store_exec(cp_store *s, const char *sql, char *err, size_t errlen)
{
    duckdb_result r;
    int rc = is_rollback(sql) ? CP_OK : store_refused(s);
    if (rc) {
        if (err) snprintf(err, errlen, "%s", s->error);
        return rc;
    }
    if (duckdb_query(s->con, sql, &r) == DuckDBError) {
        rc = store_fail(s, "query", duckdb_result_error(&r));
        if (err) snprintf(err, errlen, "%s", s->error);
    }
    duckdb_destroy_result(&r);
    return rc;
}

int store_exec(cp_store *s, const char *sql)
{
    return cp_store_exec(s, sql, NULL, 0);
}

/* Ends the connection's transaction, if any, after a failure: the failure's message stays
 * (a ROLLBACK with nothing begun fails too). */
void store_rollback(cp_store *s)
{
    char why[sizeof(s->error)];
    memcpy(why, s->error, sizeof(why));
    store_exec(s, "ROLLBACK");
    memcpy(s->error, why, sizeof(why));
}

/* Amounts of the live rollups were doubles in earlier databases: made exact decimals. */
static int migrate_money(cp_store *s)
{
    static const char *const tables[] = {"rt_minute", "rt_minute_top"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char sql[256];
        int64_t n = 0;
        bool null;
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM duckdb_columns() WHERE table_name = '%s' AND "
                 "column_name = 'revenue' AND data_type = 'DOUBLE'",
                 tables[i]);
        if (cp_store_scalar(s, sql, &n, &null)) return CP_EDB;
        snprintf(sql, sizeof(sql), "ALTER TABLE %s ALTER revenue TYPE DECIMAL(38,2)", tables[i]);
        if (n && store_exec(s, sql)) return CP_EDB;
    }
    return CP_OK;
}

static void quote_into(cp_buf *b, const char *v, size_t n)
{
    cp_buf_append_char(b, '\'');
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\'') cp_buf_append_char(b, '\'');
        cp_buf_append_char(b, v[i]);
    }
    cp_buf_append_char(b, '\'');
}

static int read_text(void *ud, const cp_slice *cols, size_t n)
{
    cp_buf *b = ud;
    (void)n;
    if (!cols[0].ptr) return CP_OK;
    if (b->len) cp_buf_append_str(b, ", ");
    quote_into(b, cols[0].ptr, cols[0].len);
    return CP_OK;
}

int cp_store_enum_column(cp_store *s, const char *table, const char *column,
                         const char *const *names, size_t n)
{
    cp_buf want, other, sql;
    cp_buf_init(&want);
    cp_buf_init(&other);
    cp_buf_init(&sql);
    cp_buf_append_str(&want, "ENUM(");
    for (size_t i = 0; i < n; i++) {
        if (i) cp_buf_append_str(&want, ", ");
        quote_into(&want, names[i], strlen(names[i]));
    }
    /* an ENUM of names already, maybe with other values after them: nothing to do */
    int64_t done = 0;
    bool null;
    cp_buf_appendf(&sql,
                   "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'main' AND "
                   "table_name = '%s' AND column_name = '%s' AND (data_type = ",
                   table, column);
    quote_into(&sql, want.ptr, want.len);
    cp_buf_append_str(&sql, " || ')' OR starts_with(data_type, ");
    quote_into(&sql, want.ptr, want.len);
    cp_buf_append_str(&sql, " || ', '))");
    if (!want.ptr || !sql.ptr || cp_store_scalar(s, sql.ptr, &done, &null) || done) {
        int rc = !want.ptr || !sql.ptr ? CP_ENOMEM : done ? CP_OK : CP_EDB;
        cp_buf_free(&want);
        cp_buf_free(&sql);
        return rc;
    }
    cp_buf_reset(&sql);
    /* the values it holds that are not among names, kept after them */
    cp_buf_appendf(&sql,
                   "SELECT DISTINCT CAST(%s AS VARCHAR) AS v FROM %s WHERE v NOT IN (%.*s) "
                   "ORDER BY 1",
                   column, table, (int)(want.len - 5), want.ptr + 5);
    char err[sizeof(s->error)] = "out of memory";
    int rc =
        sql.ptr ? cp_store_read_rows(s, sql.ptr, read_text, &other, err, sizeof(err)) : CP_ENOMEM;
    if (rc) memcpy(s->error, err, sizeof(err));
    if (rc == CP_OK && other.len) cp_buf_appendf(&want, ", %.*s", (int)other.len, other.ptr);
    cp_buf_append_char(&want, ')');
    int64_t same = 0;
    cp_buf_reset(&sql);
    if (rc == CP_OK) {
        cp_buf_appendf(&sql,
                       "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'main' AND "
                       "table_name = '%s' AND column_name = '%s' AND data_type = ",
                       table, column);
        quote_into(&sql, want.ptr, want.len);
        rc = want.ptr && sql.ptr ? cp_store_scalar(s, sql.ptr, &same, &null) : CP_ENOMEM;
    }
    if (rc == CP_OK && !same) {
        cp_buf_reset(&sql);
        cp_buf_appendf(&sql, "ALTER TABLE %s ALTER %s TYPE %.*s USING CAST(%s AS VARCHAR)", table,
                       column, (int)want.len, want.ptr, column);
        rc = sql.ptr ? store_exec(s, sql.ptr) : CP_ENOMEM;
    }
    cp_buf_free(&want);
    cp_buf_free(&other);
    cp_buf_free(&sql);
    return rc;
}

int cp_store_open(const char *path, bool read_only, cp_store **out, char *err, size_t errlen)
{
    cp_store *s = cp_calloc(1, sizeof(*s));
    duckdb_config cfg = NULL;
    char *open_err = NULL;
    if (!s) return CP_ENOMEM;
    cp_buf_init(&s->scratch);
    pthread_mutex_init(&s->api_mu, NULL);
    if (duckdb_create_config(&cfg) == DuckDBError) goto fail;
    if (read_only) duckdb_set_config(cfg, "access_mode", "READ_ONLY");
    if (duckdb_open_ext(path, &s->db, cfg, &open_err) == DuckDBError) {
        snprintf(err, errlen, "cannot open %s: %s", path, open_err ? open_err : "?");
        int locked = open_err && strstr(open_err, "lock");
        duckdb_free(open_err);
        duckdb_destroy_config(&cfg);
        cp_free(s);
        return locked ? CP_EAGAIN : CP_EDB;
    }
    duckdb_destroy_config(&cfg);
    if (duckdb_connect(s->db, &s->con) == DuckDBError) goto fail;
    /* Checkpoint in large steps: appends arrive in big batches. */
    if (!read_only && (store_exec(s, cp_schema_sql) || migrate_money(s) ||
                       store_exec(s, "SET wal_autocheckpoint = '256MB'"))) {
        snprintf(err, errlen, "%s", s->error);
        cp_store_close(s);
        return CP_EDB;
    }
    *out = s;
    return CP_OK;
fail:
    snprintf(err, errlen, "cannot open %s", path);
    if (cfg) duckdb_destroy_config(&cfg);
    cp_store_close(s);
    return CP_EDB;
}

int cp_store_session(cp_store *base, cp_store **out)
{
    cp_store *s = cp_calloc(1, sizeof(*s));
    if (!s) return CP_ENOMEM;
    cp_buf_init(&s->scratch);
    pthread_mutex_init(&s->api_mu, NULL);
    s->db = base->db;
    s->borrowed = 1;
    /* both connections made here, before another thread may interrupt them */
    if (duckdb_connect(s->db, &s->con) == DuckDBError ||
        duckdb_connect(s->db, &s->scan) == DuckDBError) {
        cp_store_close(s);
        return CP_EDB;
    }
    *out = s;
    return CP_OK;
}

void cp_store_interrupt(cp_store *s)
{
    atomic_store(&s->interrupted, true);
    duckdb_interrupt(s->con);
    if (s->borrowed) duckdb_interrupt(s->scan);
}

void cp_store_resume(cp_store *s)
{
    atomic_store(&s->interrupted, false);
}

void cp_store_close(cp_store *s)
{
    if (!s) return;
    if (s->in_batch) cp_store_rollback(s);
    if (s->scan) duckdb_disconnect(&s->scan);
    if (s->api) duckdb_disconnect(&s->api);
    pthread_mutex_destroy(&s->api_mu);
    if (s->con) duckdb_disconnect(&s->con);
    if (s->db && !s->borrowed) duckdb_close(&s->db);
    cp_buf_free(&s->scratch);
    cp_free(s);
}

int cp_store_set_memory_limit(cp_store *s, int64_t bytes)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "SET memory_limit = '%lldMB'", (long long)(bytes >> 20));
    return store_exec(s, sql);
}

int cp_store_set_threads(cp_store *s, int64_t n)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    char sql[64];
    snprintf(sql, sizeof(sql), "SET threads = %lld",
             (long long)(n > 0       ? n
                         : cores > 1 ? cores / 2
                                     : 1));
    return store_exec(s, sql);
}

int cp_store_begin(cp_store *s)
{
    if (s->in_batch) return CP_ESTATE;
    if (store_exec(s, "BEGIN TRANSACTION")) return CP_EDB;
    for (int i = 0; i < APP__COUNT; i++) {
        if (duckdb_appender_create(s->con, NULL, app_tables[i], &s->app[i]) == DuckDBError) {
            store_fail(s, "appender", app_tables[i]);
            cp_store_rollback(s);
            return CP_EDB;
        }
    }
    int rc = row_chunk_open(&s->events, s->app[APP_EVENTS]);
    if (rc) {
        store_fail(s, "events",
                   rc == CP_ETYPE ? "a column of a type silver does not write" : "memory");
        cp_store_rollback(s);
        return CP_EDB;
    }
    s->in_batch = 1;
    return CP_OK;
}

static int close_appenders(cp_store *s)
{
    int rc = CP_OK;
    if (s->app[APP_EVENTS] && row_chunk_flush(&s->events, s->app[APP_EVENTS]))
        rc = store_fail(s, "events", duckdb_appender_error(s->app[APP_EVENTS]));
    row_chunk_free(&s->events);
    for (int i = 0; i < APP__COUNT; i++) {
        if (!s->app[i]) continue;
        if (rc == CP_OK && duckdb_appender_flush(s->app[i]) == DuckDBError)
            rc = store_fail(s, app_tables[i], duckdb_appender_error(s->app[i]));
        duckdb_appender_destroy(&s->app[i]);
        s->app[i] = NULL;
    }
    return rc;
}

int cp_store_commit(cp_store *s)
{
    if (!s->in_batch) return CP_ESTATE;
    int rc = close_appenders(s);
    if (rc == CP_OK) rc = store_exec(s, "COMMIT");
    if (rc != CP_OK) store_rollback(s); /* a failed COMMIT has rolled back already */
    s->in_batch = 0;
    return rc;
}

void cp_store_rollback(cp_store *s)
{
    row_chunk_free(&s->events);
    for (int i = 0; i < APP__COUNT; i++) {
        if (s->app[i]) duckdb_appender_destroy(&s->app[i]);
        s->app[i] = NULL;
    }
    store_rollback(s);
    s->in_batch = 0;
}

/* ---- appending values ---- */

void store_put_text(duckdb_appender a, cp_slice v)
{
    if (!v.ptr)
        duckdb_append_null(a);
    else
        duckdb_append_varchar_length(a, v.ptr, v.len);
}

void store_put_time(duckdb_appender a, int64_t ms)
{
    duckdb_append_timestamp(a, (duckdb_timestamp){ms * 1000});
}

/* An exact amount into a DECIMAL(width,2) column (the value as it is, never a double). */
static void put_money_w(duckdb_appender a, bool present, cp_money v, uint8_t width)
{
    if (!present) {
        duckdb_append_null(a);
        return;
    }
    duckdb_decimal d = {
        .width = width, .scale = 2, .value = {.lower = (uint64_t)v, .upper = v < 0 ? -1 : 0}};
    duckdb_value x = duckdb_create_decimal(d);
    duckdb_append_value(a, x);
    duckdb_destroy_value(&x);
}

static void put_money(duckdb_appender a, bool present, cp_money v)
{
    put_money_w(a, present, v, 18);
}

void store_put_date(duckdb_appender a, int64_t ms)
{
    duckdb_append_date(a, (duckdb_date){(int32_t)cp_day_of(ms)});
}

static int end_row(cp_store *s, int which)
{
    if (duckdb_appender_end_row(s->app[which]) == DuckDBError)
        return store_fail(s, app_tables[which], duckdb_appender_error(s->app[which]));
    return CP_OK;
}

int cp_store_add_event(cp_store *s, const cp_silver_event *e)
{
    enum { EVENTS_COLUMNS = 38 };
    row_chunk *c = &s->events;
    idx_t k = 0;
    int rc = CP_OK;
    if (c->ncols != EVENTS_COLUMNS)
        return store_fail(s, "events", "the table has other columns than silver writes");
    row_i64(c, k++, e->offset);
    row_u64(c, k++, e->msg_hash);
    row_u64(c, k++, e->delivery_hash);
    const cp_slice head[] = {e->message_id, e->type,         e->kind,     e->event_name,
                             e->user_id,    e->anonymous_id, e->identity, e->session_id};
    cp_slice bad = CP_SLICE_NULL;
    idx_t bad_col = 0;
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]) && rc == CP_OK; i++)
        if ((rc = row_text(c, k++, head[i]))) bad = head[i], bad_col = k;
    if (rc) goto refused; /* nothing more is written into the row */
    row_time(c, k++, e->event_time_ms);
    row_time(c, k++, e->received_at_ms);
    row_date(c, k++, e->event_time_ms);
    const cp_slice mid[] = {
        e->source,     e->page_url,     e->page_path,   e->page_referrer, e->utm_source,
        e->utm_medium, e->utm_campaign, e->utm_term,    e->utm_content,   e->country,
        e->locale,     e->ip,           e->device_type, e->browser,       e->os};
    for (size_t i = 0; i < sizeof(mid) / sizeof(mid[0]) && rc == CP_OK; i++)
        if ((rc = row_text(c, k++, mid[i]))) bad = mid[i], bad_col = k;
refused:
    if (rc) { /* the column's number, from 1 */
        char why[200];
        snprintf(why, sizeof(why), "'%.*s' is not one of column %llu's names",
                 (int)(bad.len > 64 ? 64 : bad.len), bad.ptr, (unsigned long long)bad_col);
        return store_fail(s, "events", why);
    }
    row_bool(c, k++, e->is_bot);
    row_bool(c, k++, e->late);
    const cp_slice person[] = {e->email, e->email_domain, e->name, e->order_id};
    for (size_t i = 0; i < sizeof(person) / sizeof(person[0]); i++) row_text(c, k++, person[i]);
    row_money(c, k++, e->has_revenue, e->revenue);
    row_text(c, k++, e->currency);
    row_text(c, k++, e->properties);
    if (row_chunk_end(c, s->app[APP_EVENTS]))
        return store_fail(s, "events", duckdb_appender_error(s->app[APP_EVENTS]));
    return CP_OK;
}

/* An orders row, or a refunds row (which has no total: its amount is in revenue). */
static int add_order_row(cp_store *s, int which, const cp_silver_order *o)
{
    duckdb_appender a = s->app[which];
    duckdb_append_int64(a, o->offset);
    store_put_text(a, o->order_id);
    store_put_text(a, o->message_id);
    store_put_text(a, o->user_id);
    store_put_text(a, o->anonymous_id);
    store_put_time(a, o->event_time_ms);
    store_put_date(a, o->event_time_ms);
    put_money(a, true, o->revenue);
    if (which == APP_ORDERS) put_money(a, o->has_total, o->total);
    store_put_text(a, o->currency);
    store_put_text(a, o->country);
    duckdb_append_int32(a, o->items);
    duckdb_append_int64(a, o->units);
    return end_row(s, which);
}

int cp_store_add_order(cp_store *s, const cp_silver_order *o)
{
    return add_order_row(s, APP_ORDERS, o);
}

int cp_store_add_refund(cp_store *s, const cp_silver_order *r)
{
    return add_order_row(s, APP_REFUNDS, r);
}

int cp_store_add_item(cp_store *s, const cp_silver_item *i)
{
    duckdb_appender a = s->app[APP_ITEMS];
    duckdb_append_int64(a, i->offset);
    store_put_text(a, i->order_id);
    duckdb_append_int32(a, i->line);
    store_put_text(a, i->product_id);
    store_put_text(a, i->sku);
    store_put_text(a, i->name);
    store_put_text(a, i->category);
    put_money(a, i->has_price, i->price);
    duckdb_append_int64(a, i->quantity);
    return end_row(s, APP_ITEMS);
}

/* Length of the valid UTF-8 sequence at p, or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *e)
{
    size_t n = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (!n || p[0] > 0xF4 || (size_t)(e - p) < n) return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

/* Text that may hold invalid UTF-8 (a message quoting input): if any, non-ASCII bytes
 * become '?'. */
static cp_slice valid_text(cp_store *s, cp_slice v)
{
    const unsigned char *p = (const unsigned char *)v.ptr, *e = p + v.len;
    size_t i = 0;
    while (p < e) {
        size_t n = *p < 0x80 ? 1 : utf8_len(p, e);
        if (!n) break;
        p += n;
    }
    if (p == e) return v;
    cp_buf_reset(&s->scratch);
    if (cp_buf_reserve(&s->scratch, v.len)) return CP_SLICE_LIT("?");
    for (i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];
        s->scratch.ptr[s->scratch.len++] = c < 0x80 ? (char)c : '?';
    }
    return cp_buf_slice(&s->scratch);
}

int cp_store_add_dead_letter(cp_store *s, const cp_dead_letter *d)
{
    duckdb_appender a = s->app[APP_DEAD];
    store_put_time(a, d->received_at_ms);
    store_put_text(a, d->source);
    store_put_text(a, d->at);
    store_put_text(a, d->reason);
    store_put_text(a, valid_text(s, d->detail));
    duckdb_append_blob(a, d->raw.ptr ? d->raw.ptr : "", d->raw.len);
    if (d->line)
        duckdb_append_int64(a, d->line);
    else
        duckdb_append_null(a);
    return end_row(s, APP_DEAD);
}

int cp_store_add_duplicate(cp_store *s, const cp_duplicate *d)
{
    duckdb_appender a = s->app[APP_DUPS];
    store_put_text(a, d->message_id);
    store_put_time(a, d->received_at_ms);
    store_put_text(a, d->source);
    store_put_text(a, d->at);
    return end_row(s, APP_DUPS);
}

/* ---- checkpoints ---- */
int cp_store_set_checkpoint(cp_store *s, const char *name, int64_t position)
{
    duckdb_prepared_statement st;
    if (duckdb_prepare(s->con,
                       "INSERT INTO checkpoints VALUES ($1, $2, now()) ON CONFLICT (name) DO "
                       "UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
                       &st) == DuckDBError) {
        int rc = store_fail(s, "checkpoint", duckdb_prepare_error(st));
        duckdb_destroy_prepare(&st);
        return rc;
    }
    duckdb_result r;
    duckdb_bind_varchar(st, 1, name);
    duckdb_bind_int64(st, 2, position);
    int rc = duckdb_execute_prepared(st, &r) == DuckDBError
                 ? store_fail(s, "checkpoint", duckdb_result_error(&r))
                 : CP_OK;
    duckdb_destroy_result(&r);
    duckdb_destroy_prepare(&st);
    return rc;
}

int cp_store_get_checkpoint(cp_store *s, const char *name, int64_t *position, bool *found)
{
    duckdb_prepared_statement st;
    duckdb_result r;
    *found = false;
    if (duckdb_prepare(s->con, "SELECT position FROM checkpoints WHERE name = $1", &st) ==
        DuckDBError) {
        int rc = store_fail(s, "checkpoint", duckdb_prepare_error(st));
        duckdb_destroy_prepare(&st);
        return rc;
    }
    duckdb_bind_varchar(st, 1, name);
    int rc = CP_OK;
    if (duckdb_execute_prepared(st, &r) == DuckDBError) {
        rc = store_fail(s, "checkpoint", duckdb_result_error(&r));
    } else if (duckdb_row_count(&r) > 0) {
        *position = duckdb_value_int64(&r, 0, 0);
        *found = true;
    }
    duckdb_destroy_result(&r);
    duckdb_destroy_prepare(&st);
    return rc;
}

int cp_store_reset_silver(cp_store *s)
{
    return store_exec(s, "DELETE FROM events; DELETE FROM orders; DELETE FROM order_items; "
                         "DELETE FROM refunds; "
                         "DELETE FROM identity_map; DELETE FROM customers; DELETE FROM sessions; "
                         "DELETE FROM rt_minute; DELETE FROM rt_minute_top; "
                         "DELETE FROM dead_letters WHERE reason = 'store_error'; "
                         "DELETE FROM checkpoints WHERE name IN ('log', '" CP_DERIVED_CHECKPOINT
                         "');");
}

/* ---- real-time rollups ---- */

int cp_store_rt_delete(cp_store *s, const int64_t *minutes_ms, size_t n)
{
    cp_buf *b = &s->scratch;
    for (int t = 0; t < 2; t++) {
        cp_buf_reset(b);
        cp_buf_appendf(b, "DELETE FROM %s WHERE minute IN (", t ? "rt_minute_top" : "rt_minute");
        for (size_t i = 0; i < n; i++)
            cp_buf_appendf(b, "%smake_timestamp(%lld)", i ? "," : "",
                           (long long)minutes_ms[i] * 1000);
        if (cp_buf_append_str(b, ")")) return CP_ENOMEM;
        if (store_exec(s, b->ptr)) return CP_EDB;
    }
    return CP_OK;
}

int cp_store_add_rt_minute(cp_store *s, const cp_rt_minute *r)
{
    duckdb_appender a = s->app[APP_RT];
    store_put_time(a, r->minute_ms);
    const int64_t v[] = {r->events,   r->pageviews, r->visitors,
                         r->sessions, r->converted, r->orders};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) duckdb_append_int64(a, v[i]);
    put_money_w(a, true, r->revenue, 38);
    duckdb_append_int64(a, r->bots);
    for (int i = 0; i < 5; i++) duckdb_append_int64(a, r->funnel[i]);
    duckdb_append_blob(a, r->hll.ptr ? r->hll.ptr : "", r->hll.len);
    store_put_time(a, cp_now_ms());
    return end_row(s, APP_RT);
}

int cp_store_add_rt_top(cp_store *s, const cp_rt_top *r)
{
    duckdb_appender a = s->app[APP_RT_TOP];
    store_put_time(a, r->minute_ms);
    duckdb_append_varchar(a, r->dim);
    store_put_text(a, r->key);
    duckdb_append_int64(a, r->n);
    duckdb_append_int64(a, r->orders);
    put_money_w(a, true, r->revenue, 38);
    return end_row(s, APP_RT_TOP);
}

/* ---- queries ---- */

/* A statement the read-only API refuses, refused before DuckDB binds anything (binding may
 * create files): more than one, or not a read. */
static int refuse_unless_read(duckdb_connection con, const char *sql, char *err, size_t errlen)
{
    duckdb_extracted_statements ex = NULL;
    idx_t n = duckdb_extract_statements(con, sql, &ex);
    const char *why = n == 0 && ex ? duckdb_extract_statements_error(ex) : NULL;
    if (why) snprintf(err, errlen, "%s", why);
    duckdb_destroy_extracted(&ex);
    if (why) return CP_EDB;
    if (n > 1) {
        snprintf(err, errlen, "one statement at a time, please");
        return CP_EINVAL;
    }
    if (!store_reads_only(sql)) {
        snprintf(err, errlen,
                 "only read-only statements (SELECT, WITH ..., EXPLAIN) are allowed here");
        return CP_EINVAL;
    }
    return CP_OK;
}

static int query_on(duckdb_connection con, const char *sql, const cp_query_args *a, FILE *out,
                    char *err, size_t errlen, int read_only);

int cp_store_query(cp_store *s, const char *sql, cp_query_format fmt, int64_t max_rows, FILE *out,
                   char *err, size_t errlen)
{
    cp_query_args a = {.format = fmt, .max_rows = max_rows};
    return query_on(s->con, sql, &a, out, err, errlen, 0);
}

int cp_store_query_readonly(cp_store *s, const char *sql, cp_query_format fmt, int64_t max_rows,
                            FILE *out, char *err, size_t errlen)
{
    pthread_mutex_lock(&s->api_mu);
    int rc = CP_OK;
    if (!s->api && duckdb_connect(s->db, &s->api) == DuckDBError) {
        snprintf(err, errlen, "cannot open a query connection");
        rc = CP_EDB;
    }
    cp_query_args a = {.format = fmt, .max_rows = max_rows};
    if (rc == CP_OK) rc = query_on(s->api, sql, &a, out, err, errlen, 1);
    pthread_mutex_unlock(&s->api_mu);
    return rc;
}

struct cp_store_reader {
    duckdb_connection con;
};

int cp_store_reader_open(cp_store *s, const char *init_sql, cp_store_reader **out, char *err,
                         size_t errlen)
{
    cp_store_reader *r = cp_calloc(1, sizeof(*r));
    if (!r) return CP_ENOMEM;
    if (duckdb_connect(s->db, &r->con) == DuckDBError) {
        snprintf(err, errlen, "cannot open a query connection");
        cp_free(r);
        return CP_EDB;
    }
    duckdb_result res;
    if (init_sql && duckdb_query(r->con, init_sql, &res) == DuckDBError) {
        snprintf(err, errlen, "%s", duckdb_result_error(&res));
        duckdb_destroy_result(&res);
        cp_store_reader_close(r);
        return CP_EDB;
    }
    if (init_sql) duckdb_destroy_result(&res);
    *out = r;
    return CP_OK;
}

void cp_store_reader_close(cp_store_reader *r)
{
    if (!r) return;
    duckdb_disconnect(&r->con);
    cp_free(r);
}

int cp_store_reader_query(cp_store_reader *r, const char *sql, const cp_query_args *a, FILE *out,
                          char *err, size_t errlen)
{
    return query_on(r->con, sql, a, out, err, errlen, 1);
}

int cp_store_read_rows(cp_store *s, const char *sql,
                       int (*fn)(void *ud, const cp_slice *cols, size_t n), void *ud, char *err,
                       size_t errlen)
{
    enum { MAX_COLS = 64 };
    if (store_refused(s)) return snprintf(err, errlen, "%s", s->error), CP_EDB;
    pthread_mutex_lock(&s->api_mu);
    duckdb_result r;
    int rc = CP_OK, have = 0;
    if (!s->api && duckdb_connect(s->db, &s->api) == DuckDBError) {
        snprintf(err, errlen, "cannot open a query connection");
        rc = CP_EDB;
    } else if (duckdb_query(s->api, sql, &r) == DuckDBError) {
        snprintf(err, errlen, "%s", duckdb_result_error(&r));
        rc = CP_EDB;
        have = 1;
    } else {
        have = 1;
    }
    idx_t n = rc ? 0 : duckdb_column_count(&r);
    for (idx_t i = 0; rc == CP_OK && i < n; i++)
        if (n > MAX_COLS || duckdb_column_type(&r, i) != DUCKDB_TYPE_VARCHAR) {
            snprintf(err, errlen, "read_rows: at most %d columns, each VARCHAR", MAX_COLS);
            rc = CP_ETYPE;
        }
    duckdb_data_chunk ch;
    while (rc == CP_OK && (ch = duckdb_fetch_chunk(r))) {
        store_col c[MAX_COLS];
        cp_slice v[MAX_COLS];
        store_get_cols(ch, c, n);
        idx_t rows = duckdb_data_chunk_get_size(ch);
        for (idx_t i = 0; i < rows && rc == CP_OK; i++) {
            for (idx_t k = 0; k < n; k++) v[k] = store_str_at(c[k], i);
            rc = fn(ud, v, (size_t)n);
        }
        duckdb_destroy_data_chunk(&ch);
    }
    if (have) duckdb_destroy_result(&r);
    pthread_mutex_unlock(&s->api_mu);
    return rc;
}

/* Executes a prepared statement, a task at a time, so that it can be given up after
 * timeout_ms (0: never): DuckDB is interrupted and the result is an error. */
static int execute_within(duckdb_connection con, duckdb_prepared_statement st, int timeout_ms,
                          int streaming, duckdb_result *r, char *err, size_t errlen)
{
    duckdb_pending_result pending;
    if ((streaming ? duckdb_pending_prepared_streaming(st, &pending)
                   : duckdb_pending_prepared(st, &pending)) == DuckDBError) {
        snprintf(err, errlen, "%s", duckdb_pending_error(pending));
        duckdb_destroy_pending(&pending);
        return CP_EDB;
    }
    int64_t deadline = timeout_ms > 0 ? cp_now_ms() + timeout_ms : 0;
    duckdb_pending_state state;
    while ((state = duckdb_pending_execute_task(pending)) != DUCKDB_PENDING_RESULT_READY &&
           state != DUCKDB_PENDING_ERROR) {
        if (deadline && cp_now_ms() > deadline) {
            duckdb_interrupt(con);
            duckdb_destroy_pending(&pending);
            snprintf(err, errlen, "the query ran longer than %d ms and was stopped", timeout_ms);
            return CP_ETIMEOUT;
        }
    }
    if (state == DUCKDB_PENDING_ERROR) {
        snprintf(err, errlen, "%s", duckdb_pending_error(pending));
        duckdb_destroy_pending(&pending);
        return CP_EDB;
    }
    int rc = CP_OK;
    if (duckdb_execute_pending(pending, r) == DuckDBError) {
        snprintf(err, errlen, "%s", duckdb_result_error(r));
        duckdb_destroy_result(r);
        rc = CP_EDB;
    }
    duckdb_destroy_pending(&pending);
    return rc;
}

/* 1 when every column of st's result is of a type query_out.c streams. */
static int streamable(duckdb_prepared_statement st)
{
    for (idx_t c = 0; c < duckdb_prepared_statement_column_count(st); c++)
        if (!store_stream_supported(duckdb_prepared_statement_column_type(st, c))) return 0;
    return 1;
}

/* A SELECT whose result has lists, structs, maps, …: the same statement with those columns
 * cast to VARCHAR (DuckDB's text of them), so that it streams — its memory bounded like any
 * other's. Replaces *st when that prepares and streams; else *st is kept (materialised). */
static void stream_as_text(duckdb_connection con, const char *sql, duckdb_prepared_statement *st)
{
    size_t n = strlen(sql);
    const char *semi = strrchr(sql, ';'), *p = semi ? semi + 1 : NULL;
    while (p && *p) { /* after the last ';' only blanks and comments: the statement ends there */
        if (isspace((unsigned char)*p)) {
            p++;
        } else if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
        } else if (p[0] == '/' && p[1] == '*' && strstr(p + 2, "*/")) {
            p = strstr(p + 2, "*/") + 2;
        } else {
            p = NULL;
        }
    }
    if (p) n = (size_t)(semi - sql);
    cp_buf q; /* columns by position: names may repeat or need quoting */
    cp_buf_init(&q);
    cp_buf_append_str(&q, "SELECT ");
    for (idx_t c = 0; c < duckdb_prepared_statement_column_count(*st); c++) {
        const char *name = duckdb_prepared_statement_column_name(*st, c);
        cp_buf_appendf(&q, "%s#%llu%s AS \"", c ? ", " : "", (unsigned long long)c + 1,
                       store_stream_supported(duckdb_prepared_statement_column_type(*st, c))
                           ? ""
                           : "::VARCHAR");
        for (const char *ch = name; ch && *ch; ch++)
            cp_buf_appendf(&q, *ch == '"' ? "\"\"" : "%c", *ch);
        duckdb_free((void *)name); /* the caller's copy */
        cp_buf_append_str(&q, "\"");
    }
    cp_buf_appendf(&q, " FROM (\n%.*s\n)", (int)n, sql);
    duckdb_prepared_statement text;
    if (q.ptr && duckdb_prepare(con, q.ptr, &text) != DuckDBError && streamable(text) &&
        duckdb_nparams(text) == duckdb_nparams(*st)) {
        duckdb_destroy_prepare(st);
        *st = text;
    } else {
        duckdb_destroy_prepare(&text);
    }
    cp_buf_free(&q);
}

static int query_on(duckdb_connection con, const char *sql, const cp_query_args *a, FILE *out,
                    char *err, size_t errlen, int read_only)
{
    int rc0 = read_only ? refuse_unless_read(con, sql, err, errlen) : CP_OK;
    if (rc0) return rc0;
    duckdb_result r;
    duckdb_prepared_statement st;
    if (duckdb_prepare(con, sql, &st) == DuckDBError) {
        snprintf(err, errlen, "%s", duckdb_prepare_error(st));
        duckdb_destroy_prepare(&st);
        return CP_EDB;
    }
    duckdb_statement_type type = duckdb_prepared_statement_type(st);
    if (type == DUCKDB_STATEMENT_TYPE_SELECT && !streamable(st)) stream_as_text(con, sql, &st);
    if (read_only && type != DUCKDB_STATEMENT_TYPE_SELECT &&
        type != DUCKDB_STATEMENT_TYPE_EXPLAIN) {
        snprintf(err, errlen,
                 "only read-only statements (SELECT, WITH ..., EXPLAIN) are allowed here");
        duckdb_destroy_prepare(&st);
        return CP_EINVAL;
    }
    idx_t want = duckdb_nparams(st);
    if (want > a->nparams) {
        snprintf(err, errlen, "the statement takes %llu parameters, %zu given",
                 (unsigned long long)want, a->nparams);
        duckdb_destroy_prepare(&st);
        return CP_EINVAL;
    }
    for (size_t i = 0; i < (size_t)want; i++) {
        duckdb_state bs = a->params[i] ? duckdb_bind_varchar(st, i + 1, a->params[i])
                                       : duckdb_bind_null(st, i + 1);
        if (bs == DuckDBError) {
            snprintf(err, errlen, "cannot bind parameter %zu", i + 1);
            duckdb_destroy_prepare(&st);
            return CP_EINVAL;
        }
    }
    /* streamed when query_out.c writes every column's type: memory stays bounded */
    int streaming = streamable(st);
    int64_t deadline = a->timeout_ms > 0 ? cp_now_ms() + a->timeout_ms : 0;
    int rc = execute_within(con, st, a->timeout_ms, streaming, &r, err, errlen);
    duckdb_destroy_prepare(&st);
    if (rc) return rc;
    if (streaming) {
        rc = store_stream_out(&r, a, deadline, out, err, errlen);
        if (rc == CP_ETIMEOUT) duckdb_interrupt(con);
        duckdb_destroy_result(&r);
        return rc;
    }
    rc = store_print_materialized(&r, a, out, err, errlen);
    duckdb_destroy_result(&r);
    return rc;
}

int cp_store_scalar(cp_store *s, const char *sql, int64_t *out, bool *is_null)
{
    duckdb_result r;
    *is_null = true;
    if (store_refused(s)) return CP_EDB;
    if (duckdb_query(s->con, sql, &r) == DuckDBError) {
        int rc = store_fail(s, "query", duckdb_result_error(&r));
        duckdb_destroy_result(&r);
        return rc;
    }
    if (duckdb_row_count(&r) > 0 && !duckdb_value_is_null(&r, 0, 0)) {
        *out = duckdb_value_int64(&r, 0, 0);
        *is_null = false;
    }
    duckdb_destroy_result(&r);
    return CP_OK;
}

/* Runs sql on con with $1 bound to param when it is not NULL. */
static int query_param(duckdb_connection con, const char *sql, const char *param, duckdb_result *r,
                       char *err, size_t errlen)
{
    duckdb_prepared_statement st;
    int rc = CP_OK;
    if (duckdb_prepare(con, sql, &st) == DuckDBError) {
        snprintf(err, errlen, "%s", duckdb_prepare_error(st));
        rc = CP_EDB;
    } else if (param && duckdb_bind_varchar(st, 1, param) == DuckDBError) {
        snprintf(err, errlen, "cannot bind the parameter");
        rc = CP_EDB;
    } else if (duckdb_execute_prepared(st, r) == DuckDBError) {
        snprintf(err, errlen, "%s", duckdb_result_error(r));
        duckdb_destroy_result(r);
        rc = CP_EDB;
    }
    duckdb_destroy_prepare(&st);
    return rc;
}

int cp_store_restrict_files(cp_store *s, const char *const *dirs, size_t n, char *err,
                            size_t errlen)
{
    cp_buf q;
    cp_buf_init(&q);
    cp_buf_append_str(&q, "SET allowed_directories = [");
    for (size_t i = 0; i < n; i++) {
        char dir[4200];
        size_t len = strlen(dirs[i]);
        snprintf(dir, sizeof(dir), "%s%s", dirs[i], len && dirs[i][len - 1] == '/' ? "" : "/");
        if (i) cp_buf_append_str(&q, ", ");
        cp_buf_append_sql_str(&q, dir);
    }
    int rc = cp_buf_append_str(&q, "]") ? CP_ENOMEM : cp_store_exec(s, q.ptr, err, errlen);
    if (rc == CP_OK) rc = cp_store_exec(s, "SET enable_external_access = false", err, errlen);
    cp_buf_free(&q);
    return rc;
}

int cp_store_exec_param(cp_store *s, const char *sql, const char *param, int64_t *changed,
                        char *err, size_t errlen)
{
    duckdb_result r;
    int rc = query_param(s->con, sql, param, &r, err, errlen);
    if (rc) return rc;
    if (changed) *changed = (int64_t)duckdb_rows_changed(&r);
    duckdb_destroy_result(&r);
    return CP_OK;
}

int cp_store_read_numeric(cp_store *s, const char *sql, const char *param,
                          int (*fn)(void *ud, cp_slice key, const double *v, size_t n), void *ud,
                          char *err, size_t errlen)
{
    enum { MAX_COLS = 32 };
    duckdb_result r;
    int rc = store_refused(s);
    if (rc) return snprintf(err, errlen, "%s", s->error), rc;
    if ((rc = query_param(s->con, sql, param, &r, err, errlen))) return rc;
    idx_t n = duckdb_column_count(&r);
    for (idx_t i = 0; i < n && rc == CP_OK; i++)
        if (n > MAX_COLS ||
            duckdb_column_type(&r, i) != (i ? DUCKDB_TYPE_DOUBLE : DUCKDB_TYPE_VARCHAR)) {
            snprintf(err, errlen, "read_numeric: a VARCHAR, then at most %d DOUBLE columns",
                     MAX_COLS - 1);
            rc = CP_ETYPE;
        }
    duckdb_data_chunk ch;
    while (rc == CP_OK && (ch = duckdb_fetch_chunk(r))) {
        store_col c[MAX_COLS];
        double v[MAX_COLS];
        store_get_cols(ch, c, n);
        idx_t rows = duckdb_data_chunk_get_size(ch);
        for (idx_t i = 0; i < rows && rc == CP_OK; i++) {
            for (idx_t k = 1; k < n; k++)
                v[k - 1] = c[k].valid && !duckdb_validity_row_is_valid(c[k].valid, i)
                               ? NAN
                               : ((const double *)c[k].data)[i];
            rc = fn(ud, store_str_at(c[0], i), v, (size_t)n - 1);
        }
        duckdb_destroy_data_chunk(&ch);
    }
    duckdb_destroy_result(&r);
    return rc;
}

struct cp_store_appender {
    cp_store *s;
    duckdb_appender a;
    int failed; /* a value was refused (a wrong type, or more values than columns) */
};

static void check(cp_store_appender *ap, duckdb_state st)
{
    if (st == DuckDBError) ap->failed = 1;
}

int cp_store_appender_open(cp_store *s, const char *table, cp_store_appender **out)
{
    cp_store_appender *ap = cp_calloc(1, sizeof(*ap));
    if (!ap) return CP_ENOMEM;
    ap->s = s;
    if (duckdb_appender_create(s->con, NULL, table, &ap->a) == DuckDBError) {
        int rc = store_fail(s, "appender", duckdb_appender_error(ap->a));
        duckdb_appender_destroy(&ap->a);
        cp_free(ap);
        return rc;
    }
    *out = ap;
    return CP_OK;
}

void cp_store_append_text(cp_store_appender *ap, cp_slice v)
{
    check(ap,
          v.ptr ? duckdb_append_varchar_length(ap->a, v.ptr, v.len) : duckdb_append_null(ap->a));
}

void cp_store_append_int(cp_store_appender *ap, int64_t v)
{
    check(ap, duckdb_append_int64(ap->a, v));
}

void cp_store_append_double(cp_store_appender *ap, double v)
{
    check(ap, isnan(v) ? duckdb_append_null(ap->a) : duckdb_append_double(ap->a, v));
}

void cp_store_append_date(cp_store_appender *ap, int32_t day)
{
    check(ap, duckdb_append_date(ap->a, (duckdb_date){day}));
}

void cp_store_append_time(cp_store_appender *ap, int64_t ms)
{
    check(ap, duckdb_append_timestamp(ap->a, (duckdb_timestamp){ms * 1000}));
}

void cp_store_append_null(cp_store_appender *ap)
{
    check(ap, duckdb_append_null(ap->a));
}

int cp_store_append_end(cp_store_appender *ap)
{
    if (ap->failed || duckdb_appender_end_row(ap->a) == DuckDBError) {
        const char *why = duckdb_appender_error(ap->a);
        return store_fail(ap->s, "append",
                          ap->failed && !why ? "a value does not fit its column" : why);
    }
    return CP_OK;
}

int cp_store_appender_close(cp_store_appender *ap)
{
    if (!ap) return CP_OK;
    int rc = CP_OK;
    if (duckdb_appender_flush(ap->a) == DuckDBError)
        rc = store_fail(ap->s, "append", duckdb_appender_error(ap->a));
    duckdb_appender_destroy(&ap->a);
    cp_free(ap);
    return rc;
}

/* ---- currencies ---- */

/* One unit of each currency in US dollars: the built-in table, from 2000-01-01 on. */
static const char builtin_rates[] =
    "('USD', 1), ('EUR', 1.08), ('GBP', 1.27), ('JPY', 0.0067), ('CAD', 0.74), ('AUD', 0.66),"
    " ('CHF', 1.12), ('SEK', 0.095), ('NOK', 0.093), ('DKK', 0.145), ('PLN', 0.25),"
    " ('CZK', 0.043), ('INR', 0.012), ('CNY', 0.138), ('BRL', 0.2), ('MXN', 0.058)";

static bool currency_code(const char *c)
{
    if (strlen(c) != 3) return false;
    for (int i = 0; i < 3; i++)
        if (c[i] < 'A' || c[i] > 'Z') return false;
    return true;
}

int cp_store_set_currency(cp_store *s, const char *reporting, const char *rates_csv, char *err,
                          size_t errlen)
{
    if (!currency_code(reporting)) {
        snprintf(err, errlen, "currency.reporting: '%s' is not an ISO 4217 code (three capitals)",
                 reporting);
        return CP_EINVAL;
    }
    cp_buf q;
    cp_buf_init(&q);
    cp_buf_appendf(&q,
                   "BEGIN TRANSACTION; DELETE FROM currency_reporting;"
                   " INSERT INTO currency_reporting VALUES ('%s'); DELETE FROM currency_rates;",
                   reporting);
    if (rates_csv && rates_csv[0]) {
        cp_buf_append_str(&q, " INSERT INTO currency_rates SELECT CAST(date AS DATE),"
                              " upper(trim(currency)), CAST(rate AS DECIMAL(18,8)) FROM read_csv(");
        cp_buf_append_sql_str(&q, rates_csv);
        cp_buf_append_str(&q, ", header = true, columns = {'date': 'VARCHAR', 'currency': "
                              "'VARCHAR', 'rate': 'VARCHAR'});");
    } else {
        /* in another reporting currency: the cross rates, to 8 decimals */
        cp_buf_appendf(&q,
                       " INSERT INTO currency_rates WITH b(currency, usd) AS (VALUES %s)"
                       " SELECT DATE '2000-01-01', b.currency,"
                       " CAST(round(CAST(b.usd AS DOUBLE) / r.usd, 8) AS DECIMAL(18,8))"
                       " FROM b, (SELECT usd FROM b WHERE currency = '%s') r"
                       " WHERE b.currency <> '%s';",
                       builtin_rates, reporting, reporting);
    }
    cp_buf_append_str(&q, " COMMIT;");
    int rc = q.ptr ? store_exec(s, q.ptr) : CP_ENOMEM;
    cp_buf_free(&q);
    bool null;
    int64_t n = 0;
    if (rc == CP_OK && !(rates_csv && rates_csv[0]) &&
        cp_store_scalar(s, "SELECT count(*) FROM currency_rates", &n, &null) == CP_OK && n == 0) {
        snprintf(err, errlen,
                 "currency.reporting: %s has no built-in rate; give its rates in currency.rates",
                 reporting);
        return CP_EINVAL;
    }
    if (rc) {
        store_rollback(s);
        snprintf(err, errlen, "currency.rates: %s", s->error);
    }
    return rc;
}

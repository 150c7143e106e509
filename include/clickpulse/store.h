/* The embedded warehouse: a DuckDB database holding the silver tables
 * (events, orders, order_items, customers, identity_map, sessions,
 * dead_letters, duplicates) and the operations tables (checkpoints).
 *
 * Writes happen in batches inside a transaction that also moves the
 * checkpoints, so a crash leaves either all of a batch or none of it.
 * One writer: the process that opened the store. Not thread-safe. */
#ifndef CLICKPULSE_STORE_H
#define CLICKPULSE_STORE_H

#include "clickpulse/money.h"
#include "clickpulse/str.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cp_store cp_store;

/* One row of silver.events. Empty slices (ptr NULL) are stored as NULL. */
typedef struct cp_silver_event {
    int64_t offset;
    uint64_t msg_hash, delivery_hash;
    cp_slice message_id, type, kind, event_name;
    cp_slice user_id, anonymous_id, identity, session_id;
    int64_t event_time_ms, received_at_ms;
    cp_slice source;
    cp_slice page_url, page_path, page_referrer;
    cp_slice utm_source, utm_medium, utm_campaign, utm_term, utm_content;
    cp_slice country, locale, ip, device_type, browser, os; /* user agent: parsed, in bronze */
    bool is_bot, late, has_revenue;
    cp_slice email, email_domain, name;
    cp_slice order_id, currency;
    cp_money revenue;
    cp_slice properties; /* raw JSON; the context's fields have columns of their own */
} cp_silver_event;

typedef struct cp_silver_order {
    int64_t offset;
    cp_slice order_id, message_id, user_id, anonymous_id, currency, country;
    int64_t event_time_ms;
    cp_money revenue, total;
    bool has_total;
    int32_t items;
    int64_t units;
} cp_silver_order;

typedef struct cp_silver_item {
    int64_t offset;
    cp_slice order_id;
    int32_t line;
    cp_slice product_id, sku, name, category;
    cp_money price;
    bool has_price;
    int64_t quantity;
} cp_silver_item;

typedef struct cp_dead_letter {
    int64_t received_at_ms;
    cp_slice source, at, reason, detail, raw;
    int64_t line;
} cp_dead_letter;

typedef struct cp_duplicate {
    cp_slice message_id, source, at;
    int64_t received_at_ms;
} cp_duplicate;

/* Opens or creates the database at path (":memory:" for tests) and its schema.
 * read_only opens an existing file without writing. On error writes a message
 * into err and returns CP_EDB (CP_EAGAIN when another process holds the file). */
int cp_store_open(const char *path, bool read_only, cp_store **out, char *err, size_t errlen);
/* Caps DuckDB's memory (bytes); beyond it, DuckDB spills to temporary files. */
int cp_store_set_memory_limit(cp_store *s, int64_t bytes);
/* DuckDB's threads (n > 0); 0 picks half the online cores, at least one. */
int cp_store_set_threads(cp_store *s, int64_t n);
void cp_store_close(cp_store *s);
/* Another session on the same database, for another thread (the job scheduler's): its
 * own connection and transactions. Close it before the store it came from. */
int cp_store_session(cp_store *base, cp_store **out);
/* Stops the statement running on s's main connection, and on a session's scan connection
 * (from any thread): it fails, and so does every statement started on s after it, until
 * cp_store_resume — a job interrupted between two statements stops at the next. */
void cp_store_interrupt(cp_store *s);
void cp_store_resume(cp_store *s);

/* A batch: begin, appends, derive, checkpoints, commit (or rollback). */
int cp_store_begin(cp_store *s);
int cp_store_commit(cp_store *s);
void cp_store_rollback(cp_store *s);
int cp_store_add_event(cp_store *s, const cp_silver_event *e);
int cp_store_add_order(cp_store *s, const cp_silver_order *o);
int cp_store_add_item(cp_store *s, const cp_silver_item *i);
/* An Order Refunded: the refund's amount in revenue (total unused). */
int cp_store_add_refund(cp_store *s, const cp_silver_order *r);
int cp_store_add_dead_letter(cp_store *s, const cp_dead_letter *d);
int cp_store_add_duplicate(cp_store *s, const cp_duplicate *d);
/* Rebuilds identity_map and customers from silver events (outside a batch): the rows
 * of the anonymous ids and users named by events past offset `since` (all rows when
 * since < 0), and records `upto` as the checkpoint CP_DERIVED_CHECKPOINT, in one
 * transaction. */
#define CP_DERIVED_CHECKPOINT "derived"
int cp_store_refresh_derived(cp_store *s, int64_t since, int64_t upto);
/* The identity map and the customers written whole, from rows computed elsewhere: begin
 * empties both in a transaction; end records `upto` as CP_DERIVED_CHECKPOINT and commits
 * (or rolls back when commit is false). */
typedef struct cp_customer_row {
    cp_slice user_id, email, email_domain, name, country;
    int64_t first_ms, last_ms, signed_up_ms; /* signed_up_ms INT64_MIN: none */
    int64_t events, last_offset;
} cp_customer_row;
int cp_store_people_begin(cp_store *s);
int cp_store_add_identity(cp_store *s, cp_slice anonymous_id, cp_slice user_id, int64_t first_ms);
int cp_store_add_customer(cp_store *s, const cp_customer_row *c);
int cp_store_people_end(cp_store *s, int64_t upto, bool commit);
/* Sets a named position (the log offset applied, a source's cursor), in the batch. */
int cp_store_set_checkpoint(cp_store *s, const char *name, int64_t position);
/* Reads a position; *found tells whether it exists. */
int cp_store_get_checkpoint(cp_store *s, const char *name, int64_t *position, bool *found);

/* Sessions: events' identity and time, ordered by (identity, time, offset), are handed
 * to the callback one by one, between cp_store_sessions_begin and _end, whose
 * transaction replaces the sessions of the identities scanned with the rows added. */
typedef struct cp_session_event {
    cp_slice identity, user_id, session_id, kind, page_path;
    cp_slice utm_source, utm_medium, utm_campaign, country, device_type;
    int64_t time_ms, offset;
    bool is_bot;
} cp_session_event;
typedef struct cp_session_row {
    cp_slice session_id, identity, user_id, utm_source, utm_medium, utm_campaign, country,
        device_type, landing_path;
    int64_t start_ms, end_ms;
    int64_t events, pageviews;
    bool is_bot, product_view, cart, checkout, purchase;
} cp_session_row;
int cp_store_scan_for_sessions(cp_store *s, int64_t since,
                               int (*fn)(void *ud, const cp_session_event *e), void *ud);
/* Opens the transaction of a sessions refresh: every session when since < 0, else the
 * sessions of the identities with events past offset `since` (the scan then hands over
 * only those identities' events); CP_SESSIONS_TODO: those of cp_store_sessions_todo's
 * identities; CP_SESSIONS_NONE: none (rows are only added). */
#define CP_SESSIONS_TODO (-2)
#define CP_SESSIONS_NONE INT64_MAX
int cp_store_sessions_begin(cp_store *s, int64_t since);
int cp_store_add_session(cp_store *s, const cp_session_row *r);
/* The identities whose sessions CP_SESSIONS_TODO names (committed); n = 0 forgets them. */
int cp_store_sessions_todo(cp_store *s, const cp_slice *ids, size_t n);
/* A session row added with the batch's rows (between cp_store_begin and the commit). */
int cp_store_add_batch_session(cp_store *s, const cp_session_row *r);
int cp_store_sessions_end(cp_store *s, bool commit); /* commits, or rolls back */

/* Dedup state for the window: every (msg_hash, delivery_hash, received_at) of events
 * received at or after since_ms and before until_ms, the latest in the log first. */
int cp_store_scan_hashes(cp_store *s, int64_t since_ms, int64_t until_ms,
                         int (*fn)(void *ud, uint64_t msg, uint64_t delivery, int64_t recv_ms),
                         void *ud);
/* Every dead letter's (source, delivery, received_at) received at or after since_ms. */
int cp_store_scan_dead_letters(cp_store *s, int64_t since_ms,
                               int (*fn)(void *ud, cp_slice source, cp_slice at, int64_t recv_ms),
                               void *ud);
/* Empties the silver tables derived from the log and its checkpoint (for replay);
 * dead letters, duplicates and source cursors stay. */
int cp_store_reset_silver(cp_store *s);

/* Real-time rollups: one row a minute (rt_minute) and its counts by key (rt_minute_top:
 * dim is kind, page, product, referrer or country; key NULL sums the keys past the
 * tracked limit). Written in the batch's transaction: delete the minutes, then add. */
typedef struct cp_rt_minute {
    int64_t minute_ms;
    int64_t events, pageviews, visitors, sessions, converted, orders, bots;
    int64_t funnel[5];
    cp_money revenue;
    cp_slice hll; /* the visitors' HyperLogLog, serialized */
} cp_rt_minute;
typedef struct cp_rt_top {
    int64_t minute_ms;
    const char *dim;
    cp_slice key;
    int64_t n, orders;
    cp_money revenue;
} cp_rt_top;
int cp_store_rt_delete(cp_store *s, const int64_t *minutes_ms, size_t n);
int cp_store_add_rt_minute(cp_store *s, const cp_rt_minute *r);
int cp_store_add_rt_top(cp_store *s, const cp_rt_top *r);
/* Every persisted minute at or after since_ms, then every top row of those minutes. */
int cp_store_scan_rt(cp_store *s, int64_t since_ms, int (*minute)(void *ud, const cp_rt_minute *r),
                     int (*top)(void *ud, const cp_rt_top *r), void *ud);

typedef enum cp_query_format { CP_QUERY_TABLE, CP_QUERY_CSV, CP_QUERY_JSON } cp_query_format;
/* Runs sql and prints its result in the format; at most max_rows rows (0: all).
 * On error writes DuckDB's message into err and returns CP_EDB. */
int cp_store_query(cp_store *s, const char *sql, cp_query_format fmt, int64_t max_rows, FILE *out,
                   char *err, size_t errlen);
/* Runs a read-only statement (a SELECT, possibly WITH/EXPLAIN) on a connection of its
 * own, safe to call from another thread while batches are written; anything else is
 * refused with CP_EINVAL and a message. */
int cp_store_query_readonly(cp_store *s, const char *sql, cp_query_format fmt, int64_t max_rows,
                            FILE *out, char *err, size_t errlen);
/* How a statement runs: output format and row limit (0: all), its parameters ($1..$n,
 * bound as VARCHAR; a NULL entry binds SQL NULL; the statement may use the first few), a time
 * limit (0: none; past it the statement is interrupted and CP_ETIMEOUT returned), and
 * where to put the number of rows before the limit (may be NULL). */
typedef struct cp_query_args {
    cp_query_format format;
    int64_t max_rows;
    const char *const *params;
    size_t nparams;
    int timeout_ms;
    int64_t *total_rows;
} cp_query_args;
/* A connection of its own for read-only statements, used by one thread at a time;
 * init_sql (NULL: none) runs once when it opens, e.g. to create TEMP macros. */
typedef struct cp_store_reader cp_store_reader;
int cp_store_reader_open(cp_store *s, const char *init_sql, cp_store_reader **out, char *err,
                         size_t errlen);
void cp_store_reader_close(cp_store_reader *r);
/* Runs a read-only statement (anything else: CP_EINVAL) as a says and prints its result. */
int cp_store_reader_query(cp_store_reader *r, const char *sql, const cp_query_args *a, FILE *out,
                          char *err, size_t errlen);
/* Runs a query whose columns are all VARCHAR on the read-only connection (safe from any
 * thread) and hands each row to fn (NULL values: slices with ptr NULL); fn's non-zero
 * result stops it and is returned. */
int cp_store_read_rows(cp_store *s, const char *sql,
                       int (*fn)(void *ud, const cp_slice *cols, size_t n), void *ud, char *err,
                       size_t errlen);
/* Runs sql on s's own connection (so inside s's transaction, from s's thread), with $1
 * bound to param when it is not NULL (values never go into SQL text): the first
 * column must be VARCHAR (a key; NULL gives a slice with ptr NULL) and the others, at most
 * 31, DOUBLE (NULL is NaN). fn gets each row; its non-zero result stops it and is returned.
 * Errors: CP_EDB or CP_ETYPE with a message in err. */
int cp_store_read_numeric(cp_store *s, const char *sql, const char *param,
                          int (*fn)(void *ud, cp_slice key, const double *v, size_t n), void *ud,
                          char *err, size_t errlen);

/* Rows appended to any table through DuckDB's appender on s's own connection (inside an
 * open transaction, they commit with it). Each row gives every column in order, then
 * cp_store_append_end; close flushes and frees. Errors (CP_EDB) leave a message in
 * cp_store_error(s). */
typedef struct cp_store_appender cp_store_appender;
int cp_store_appender_open(cp_store *s, const char *table, cp_store_appender **out);
void cp_store_append_text(cp_store_appender *a, cp_slice v); /* ptr NULL: NULL */
void cp_store_append_int(cp_store_appender *a, int64_t v);
void cp_store_append_double(cp_store_appender *a, double v);  /* NaN: NULL */
void cp_store_append_date(cp_store_appender *a, int32_t day); /* days since epoch */
void cp_store_append_time(cp_store_appender *a, int64_t ms);  /* TIMESTAMP */
void cp_store_append_null(cp_store_appender *a);
int cp_store_append_end(cp_store_appender *a);
int cp_store_appender_close(cp_store_appender *a); /* NULL is a no-op */

/* Runs a statement that returns nothing of interest. */
int cp_store_exec(cp_store *s, const char *sql, char *err, size_t errlen);
/* Closes the database to files for every connection, for the life of the process: SQL
 * may then read or write only below the n directories given (DuckDB's
 * enable_external_access off, with allowed_directories) — no read_csv('/etc/…'), no
 * ATTACH, no extension loading; the database's own files are unaffected. */
int cp_store_restrict_files(cp_store *s, const char *const *dirs, size_t n, char *err,
                            size_t errlen);
/* Runs sql with $1 bound to param (never spliced into the text); *changed (may be NULL)
 * gets the rows it changed. */
int cp_store_exec_param(cp_store *s, const char *sql, const char *param, int64_t *changed,
                        char *err, size_t errlen);
/* Runs sql and reads the first column of its first row as an integer; *is_null is set
 * when there is no row or the value is NULL. */
int cp_store_scalar(cp_store *s, const char *sql, int64_t *out, bool *is_null);
/* Makes table.column an ENUM of names (in that order), followed by any other value it
 * holds, so none is lost; nothing changes when it is that already. Appended rows name its
 * values as text (cp_store_add_event). */
int cp_store_enum_column(cp_store *s, const char *table, const char *column,
                         const char *const *names, size_t n);

/* The reporting currency and the exchange rates (from the CSV file rates_csv — date,
 * currency, rate: one unit of the currency in the reporting one, from that date on — or the
 * built-in table when it is NULL or empty), replacing what the store had. Errors: CP_EINVAL
 * (a code that is not one, no rates for it) or CP_EDB, with a message in err. */
int cp_store_set_currency(cp_store *s, const char *reporting, const char *rates_csv, char *err,
                          size_t errlen);
/* The last DuckDB error message. */
const char *cp_store_error(const cp_store *s);

#endif

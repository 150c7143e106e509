/* Names shared by the store's files, not part of the engine's API. */
#ifndef CP_STORE_INTERNAL_H
#define CP_STORE_INTERNAL_H

#include "clickpulse/store.h"

#include "clickpulse/str.h"

#include <duckdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

/* 1 when query_out.c writes values of type t (else the result is read materialised). */
int store_stream_supported(duckdb_type t);
/* Prints the streaming result r as a says (format, max_rows; the rows it gave into
 * *a->total_rows, counted until deadline_ms when past max_rows), a chunk at a time.
 * Returns 0, CP_ETIMEOUT when the deadline passed before max_rows were printed, CP_EIO
 * when out failed (a bounded writer full), CP_ENOMEM; err says which. */
int store_stream_out(duckdb_result *r, const cp_query_args *a, int64_t deadline_ms, FILE *out,
                     char *err, size_t errlen);

/* Prints the materialised result r as a says (format, max_rows; all its rows into
 * *a->total_rows), each value as DuckDB's cast to VARCHAR writes it. Returns 0, CP_EIO
 * when out failed, CP_ENOMEM; err says which. */
int store_print_materialized(duckdb_result *r, const cp_query_args *a, FILE *out, char *err,
                             size_t errlen);

/* 1 when sql's first word is one of a reading statement's (SELECT, WITH, FROM, VALUES,
 * TABLE, SHOW, DESCRIBE, SUMMARIZE, or EXPLAIN of one): looked at before DuckDB binds the
 * statement, since binding some (EXPORT DATABASE, COPY) already creates directories. */
int store_reads_only(const char *sql);

/* Rows appended a data chunk at a time (rows.c). */
typedef struct row_enum row_enum;
typedef struct row_vec {
    duckdb_vector vec;
    void *data;
    uint64_t *valid;
} row_vec;
typedef struct row_chunk {
    duckdb_data_chunk chunk;
    idx_t rows, cap, ncols;
    row_vec *vec;
    duckdb_type *types;
    row_enum *enums; /* the names of ENUM columns */
} row_chunk;
/* A chunk of the appender's table's columns: CP_ETYPE when a DECIMAL column is not one of
 * cents in an int64 or an ENUM has over 255 names. */
int row_chunk_open(row_chunk *c, duckdb_appender a);
void row_chunk_free(row_chunk *c);
/* Ends the row the row_* calls wrote (every column, each once): a full chunk goes to a. */
int row_chunk_end(row_chunk *c, duckdb_appender a);
/* Appends the rows gathered so far to a (CP_EDB: a's error says why). */
int row_chunk_flush(row_chunk *c, duckdb_appender a);
/* Text (NULL when v.ptr is NULL); into an ENUM column, CP_ERANGE when not one of its names. */
int row_text(row_chunk *c, idx_t col, cp_slice v);
void row_i64(row_chunk *c, idx_t col, int64_t v);
void row_u64(row_chunk *c, idx_t col, uint64_t v);
void row_bool(row_chunk *c, idx_t col, bool v);
void row_time(row_chunk *c, idx_t col, int64_t ms);
void row_date(row_chunk *c, idx_t col, int64_t ms);
/* An amount into a DECIMAL(18,2) column, NULL when not present. */
void row_money(row_chunk *c, idx_t col, bool present, cp_money v);

/* The store's appenders of a batch (store.c). */
enum {
    APP_EVENTS,
    APP_ORDERS,
    APP_ITEMS,
    APP_REFUNDS,
    APP_DEAD,
    APP_DUPS,
    APP_RT,
    APP_RT_TOP,
    APP_SESSIONS,
    APP__COUNT
};
struct cp_store {
    duckdb_database db;
    duckdb_connection con;
    duckdb_connection scan; /* a second connection for streaming reads while writing */
    duckdb_connection api;  /* read-only queries from other threads, under api_mu */
    pthread_mutex_t api_mu;
    duckdb_appender app[APP__COUNT];
    duckdb_appender sessions;
    duckdb_appender people[2]; /* identity_map, customers: kept by the writer, written whole */
    row_chunk events;          /* silver's events, a chunk at a time */
    int in_batch;
    int borrowed; /* the database belongs to another cp_store (cp_store_session) */
    /* Set by cp_store_interrupt until cp_store_resume: no statement starts (DuckDB forgets
     * an interrupt that comes between statements). */
    atomic_bool interrupted;
    char error[512];
    cp_buf scratch;
};

/* The store's error set to "what: msg"; returns CP_EDB. */
int store_fail(cp_store *s, const char *what, const char *msg);
/* CP_EDB (the reason in s) when cp_store_interrupt stopped the store. */
int store_refused(cp_store *s);
/* cp_store_exec without an error buffer (the reason in s). */
int store_exec(cp_store *s, const char *sql);
/* Ends the connection's transaction, if any, after a failure; the failure's message stays. */
void store_rollback(cp_store *s);
/* Values into an appender's row: text (NULL when v.ptr is NULL), a timestamp, its day. */
void store_put_text(duckdb_appender a, cp_slice v);
void store_put_time(duckdb_appender a, int64_t ms);
void store_put_date(duckdb_appender a, int64_t ms);

/* A column of a result's data chunk (derived.c). */
typedef struct store_col {
    void *data;
    uint64_t *valid;
    duckdb_type type;
} store_col;
/* The n first columns of ch. */
void store_get_cols(duckdb_data_chunk ch, store_col *cols, idx_t n);
/* Row `row` of a VARCHAR or BLOB column (CP_SLICE_NULL when NULL): other types are CAST in
 * the query. */
cp_slice store_str_at(store_col c, idx_t row);

#endif

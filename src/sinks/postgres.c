/* The PostgreSQL sink (libpq): tables in sinks.postgres.schema, created and migrated
 * from the store's columns; each batch one transaction with COPY, so a table's highest
 * offset is exactly what it holds — the position after a restart, and a redelivered
 * batch is never applied twice. Tables delivered whole are emptied and filled in one
 * transaction: readers see the old rows or the new ones. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pg_sink {
    char *dsn, *schema;
    PGconn *conn;
    cp_buf data, sql;
} pg_sink;

static void pg_tables(const cp_config *c, char *out, size_t len)
{
    (void)c;
    snprintf(out, len, "events,orders,order_items,refunds,customers,sessions,gold.*");
}

static int pg_open(const cp_config *c, void **ctx, char *err, size_t errlen)
{
    pg_sink *p = cp_calloc(1, sizeof(*p));
    if (!p || !(p->dsn = cp_strdup(c->sinks_postgres_dsn)) ||
        !(p->schema = cp_strdup(c->sinks_postgres_schema))) {
        if (p) cp_free(p->dsn), cp_free(p);
        return CP_ENOMEM;
    }
    if (!p->schema[0]) {
        snprintf(err, errlen, "sinks.postgres.schema: empty");
        cp_free(p->dsn), cp_free(p->schema), cp_free(p);
        return CP_EINVAL;
    }
    cp_buf_init(&p->data);
    cp_buf_init(&p->sql);
    *ctx = p;
    return CP_OK;
}

/* PostgreSQL's names for the types, as format_type() spells them. */
static void pg_map(void *ctx, const char *type, char *dest, size_t destlen, const char **render)
{
    (void)ctx;
    static const struct {
        const char *duck, *pg;
    } types[] = {{"BIGINT", "bigint"},
                 {"INTEGER", "integer"},
                 {"SMALLINT", "smallint"},
                 {"TINYINT", "smallint"},
                 {"UBIGINT", "numeric(20,0)"},
                 {"UINTEGER", "bigint"},
                 {"USMALLINT", "integer"},
                 {"UTINYINT", "smallint"},
                 {"HUGEINT", "numeric(39,0)"},
                 {"DOUBLE", "double precision"},
                 {"FLOAT", "real"},
                 {"BOOLEAN", "boolean"},
                 {"DATE", "date"},
                 {"TIMESTAMP", "timestamp without time zone"},
                 {"TIMESTAMP WITH TIME ZONE", "timestamp with time zone"},
                 {"INTERVAL", "interval"}};
    *render = "CAST({} AS VARCHAR)";
    int p = 0, s = 0;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(type, types[i].duck)) {
            snprintf(dest, destlen, "%s", types[i].pg);
            return;
        }
    if (sscanf(type, "DECIMAL(%d,%d)", &p, &s) == 2) {
        snprintf(dest, destlen, "numeric(%d,%d)", p, s);
        return;
    }
    if (!strcmp(type, "BLOB")) {
        snprintf(dest, destlen, "bytea");
        *render = "'\\x' || hex({})";
        return;
    }
    snprintf(dest, destlen, "text"); /* VARCHAR, and lists, structs and the rest as text */
}

/* "PostgreSQL: <what>: <libpq's message on one line>". */
static int pg_error(const char *what, const char *m, char *err, size_t errlen)
{
    int n = snprintf(err, errlen, "PostgreSQL: %s%s", what, what[0] ? ": " : "");
    size_t at = n > 0 && (size_t)n < errlen ? (size_t)n : 0;
    for (int space = 1; *m && at + 1 < errlen; m++) {
        int ws = *m == '\n' || *m == '\t' || *m == ' ';
        if (!ws)
            err[at++] = *m;
        else if (!space)
            err[at++] = ' ';
        space = ws;
    }
    while (at && err[at - 1] == ' ') at--;
    err[at] = '\0';
    return CP_EIO;
}

static int pg_fail(pg_sink *p, const char *what, char *err, size_t errlen)
{
    return pg_error(what, PQerrorMessage(p->conn), err, errlen);
}

/* Runs sql; a result other than want is an error. */
static int pg_exec(pg_sink *p, const char *sql, ExecStatusType want, PGresult **out, char *err,
                   size_t errlen)
{
    PGresult *r = PQexec(p->conn, sql);
    if (PQresultStatus(r) != want) {
        const char *m = PQresultErrorMessage(r);
        pg_error("", m[0] ? m : PQerrorMessage(p->conn), err, errlen);
        PQclear(r);
        return CP_EIO;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return CP_OK;
}

static void pg_disconnect(void *ctx)
{
    pg_sink *p = ctx;
    PQfinish(p->conn);
    p->conn = NULL;
}

static int pg_connect(void *ctx, char *err, size_t errlen)
{
    pg_sink *p = ctx;
    p->conn = PQconnectdb(p->dsn);
    if (PQstatus(p->conn) != CONNECTION_OK) {
        int rc = pg_fail(p, "connecting", err, errlen);
        pg_disconnect(p);
        return rc;
    }
    cp_buf_reset(&p->sql);
    cp_buf_append_str(&p->sql, "SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS ");
    sink_quote_ident(&p->sql, p->schema, '"');
    int rc = pg_exec(p, p->sql.ptr, PGRES_COMMAND_OK, NULL, err, errlen);
    if (rc) pg_disconnect(p);
    return rc;
}

/* schema.table, quoted. */
static void qualified(pg_sink *p, cp_buf *b, const char *table)
{
    sink_quote_ident(b, p->schema, '"');
    cp_buf_append_char(b, '.');
    sink_quote_ident(b, table, '"');
}

static void pg_column_type(const sink_stream *st, size_t i, char *out, size_t len)
{
    snprintf(out, len, "%s", st->cols[i].dest);
}

static int create_table(pg_sink *p, const sink_stream *st, char *err, size_t errlen)
{
    cp_buf *q = &p->sql;
    cp_buf_reset(q);
    cp_buf_append_str(q, "CREATE TABLE ");
    qualified(p, q, st->name);
    sink_column_list(q, st, '"', pg_column_type);
    if (st->mode == SINK_APPEND) {
        cp_buf_append_str(q, "; CREATE INDEX ON ");
        qualified(p, q, st->name);
        cp_buf_append_str(q, " (\"offset\")");
    }
    return pg_exec(p, q->ptr, PGRES_COMMAND_OK, NULL, err, errlen);
}

/* The table's columns in PostgreSQL, or NULL when there is no such table. */
static int columns_of(pg_sink *p, const sink_stream *st, PGresult **out, char *err, size_t errlen)
{
    const char *params[2] = {p->schema, st->name};
    PGresult *r = PQexecParams(p->conn,
                               "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM "
                               "pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN "
                               "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND "
                               "c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
                               2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return pg_fail(p, "reading the catalogue", err, errlen);
    }
    *out = r;
    return CP_OK;
}

/* Creates the table, or adds the columns it lacks; a table delivered whole whose column
 * types changed is made again. The position of an append-only table is its highest
 * offset. */
static int pg_prepare(void *ctx, sink_stream *st, char *err, size_t errlen)
{
    pg_sink *p = ctx;
    PGresult *cols = NULL;
    int rc = columns_of(p, st, &cols, err, errlen);
    if (rc) return rc;
    int have = PQntuples(cols), recreate = 0;
    cp_buf *q = &p->sql;
    cp_buf_reset(q);
    for (size_t i = 0; i < st->ncols && !recreate; i++) {
        int found = -1;
        for (int k = 0; k < have && found < 0; k++)
            if (!strcmp(PQgetvalue(cols, k, 0), st->cols[i].name)) found = k;
        if (found < 0) {
            cp_buf_append_str(q, "ALTER TABLE ");
            qualified(p, q, st->name);
            cp_buf_append_str(q, " ADD COLUMN ");
            sink_quote_ident(q, st->cols[i].name, '"');
            cp_buf_appendf(q, " %s;", st->cols[i].dest);
        } else if (strcmp(PQgetvalue(cols, found, 1), st->cols[i].dest)) {
            if (st->mode != SINK_REPLACE) {
                snprintf(err, errlen, "PostgreSQL: %s.%s.%s is %s, not %s: change or drop it there",
                         p->schema, st->name, st->cols[i].name, PQgetvalue(cols, found, 1),
                         st->cols[i].dest);
                PQclear(cols);
                return CP_ETYPE;
            }
            recreate = 1;
        }
    }
    PQclear(cols);
    if (have && recreate) {
        cp_buf_reset(q);
        cp_buf_append_str(q, "DROP TABLE ");
        qualified(p, q, st->name);
        rc = pg_exec(p, q->ptr, PGRES_COMMAND_OK, NULL, err, errlen);
        have = 0;
    } else if (have && q->len) {
        rc = pg_exec(p, q->ptr, PGRES_COMMAND_OK, NULL, err, errlen);
    }
    if (rc == CP_OK && !have) rc = create_table(p, st, err, errlen);
    if (rc == CP_OK && !have && st->mode == SINK_REPLACE) st->position = 0; /* deliver again */
    if (rc || st->mode != SINK_APPEND) return rc;
    cp_buf_reset(q);
    cp_buf_append_str(q, "SELECT max(\"offset\") FROM ");
    qualified(p, q, st->name);
    PGresult *r;
    if ((rc = pg_exec(p, q->ptr, PGRES_TUPLES_OK, &r, err, errlen))) return rc;
    st->position = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return CP_OK;
}

static int pg_begin(void *ctx, const sink_stream *st)
{
    pg_sink *p = ctx;
    (void)st;
    cp_buf_reset(&p->data);
    return CP_OK;
}

static int pg_row(void *ctx, const sink_stream *st, const cp_slice *v)
{
    pg_sink *p = ctx;
    sink_tsv_row(&p->data, v, st->ncols);
    return CP_OK;
}

/* COPY of the batch's rows, in the open transaction. */
static int copy_in(pg_sink *p, const sink_stream *st, char *err, size_t errlen)
{
    cp_buf *q = &p->sql;
    cp_buf_reset(q);
    cp_buf_append_str(q, "COPY ");
    qualified(p, q, st->name);
    sink_column_list(q, st, '"', NULL);
    cp_buf_append_str(q, " FROM STDIN");
    int rc = pg_exec(p, q->ptr, PGRES_COPY_IN, NULL, err, errlen);
    for (size_t at = 0; rc == CP_OK && at < p->data.len;) {
        size_t n = p->data.len - at > (1u << 20) ? 1u << 20 : p->data.len - at;
        if (PQputCopyData(p->conn, p->data.ptr + at, (int)n) != 1)
            rc = pg_fail(p, "COPY", err, errlen);
        at += n;
    }
    if (rc == CP_OK && PQputCopyEnd(p->conn, NULL) != 1) rc = pg_fail(p, "COPY", err, errlen);
    if (rc) return rc;
    PGresult *r;
    while ((r = PQgetResult(p->conn))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == CP_OK)
            rc = pg_error("COPY", PQresultErrorMessage(r), err, errlen);
        PQclear(r);
    }
    return rc;
}

static int pg_commit(void *ctx, const sink_stream *st, char *err, size_t errlen)
{
    pg_sink *p = ctx;
    int rc = pg_exec(p, "BEGIN", PGRES_COMMAND_OK, NULL, err, errlen);
    if (rc == CP_OK && st->mode == SINK_REPLACE) {
        cp_buf_reset(&p->sql);
        cp_buf_append_str(&p->sql, "DELETE FROM ");
        qualified(p, &p->sql, st->name);
        rc = pg_exec(p, p->sql.ptr, PGRES_COMMAND_OK, NULL, err, errlen);
    }
    if (rc == CP_OK) rc = copy_in(p, st, err, errlen);
    if (rc == CP_OK) rc = pg_exec(p, "COMMIT", PGRES_COMMAND_OK, NULL, err, errlen);
    if (rc) {
        char ignored[64];
        pg_exec(p, "ROLLBACK", PGRES_COMMAND_OK, NULL, ignored, sizeof(ignored));
    }
    return rc;
}

static void pg_free(void *ctx)
{
    pg_sink *p = ctx;
    pg_disconnect(p);
    cp_buf_free(&p->data);
    cp_buf_free(&p->sql);
    cp_free(p->dsn);
    cp_free(p->schema);
    cp_free(p);
}

const cp_sink_ops cp_sink_postgres = {
    .name = "postgres",
    .tables = pg_tables,
    .open = pg_open,
    .map = pg_map,
    .connect = pg_connect,
    .prepare = pg_prepare,
    .begin = pg_begin,
    .row = pg_row,
    .commit = pg_commit,
    .disconnect = pg_disconnect,
    .free = pg_free,
};

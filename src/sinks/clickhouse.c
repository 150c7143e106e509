/* The ClickHouse sink, over its HTTP interface (libcurl): tables in
 * sinks.clickhouse.database, MergeTree ordered by log offset for silver's append-only
 * tables. Each batch is one INSERT in TabSeparated of fewer rows than a block
 * (max_insert_block_size), into an unpartitioned table: one part, written whole or not
 * at all, so the highest offset there is exactly what it holds — the position after a
 * restart, and a redelivered batch is never inserted twice. Tables delivered whole are
 * filled under a new name and swapped in by RENAME. Rows go as RowBinary: numbers, dates
 * and times arrive exactly as the store has them, with no text parsing on the server
 * (whose float parser is not exact in every version). Works with ClickHouse 18.16
 * (Debian) and with current versions: timestamps are DateTime64(3) where the server has
 * it (20.1 on), DateTime (whole seconds) before. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a column's values are written in RowBinary. */
typedef enum ch_enc {
    E_I8,
    E_I16,
    E_I32,
    E_I64,
    E_F32,
    E_F64,
    E_DEC32,
    E_DEC64,
    E_DEC128,
    E_DATE,
    E_DATETIME,
    E_STRING
} ch_enc;

enum { MAX_COLS = 128 };

typedef struct ch_sink {
    char *url, *database;
    sink_http *http;
    int major, minor; /* the server's version */
    cp_buf data, sql, url_buf, resp;
    ch_enc enc[MAX_COLS]; /* the current batch's columns */
    int scale[MAX_COLS];
    bool nullable[MAX_COLS];
} ch_sink;

static void ch_tables(const cp_config *c, char *out, size_t len)
{
    (void)c;
    snprintf(out, len, "events,orders,order_items,refunds,customers,sessions,gold.*");
}

static int ch_open(const cp_config *c, void **ctx, char *err, size_t errlen)
{
    ch_sink *h = cp_calloc(1, sizeof(*h));
    if (!h) return CP_ENOMEM;
    h->url = cp_strdup(c->sinks_clickhouse_url);
    h->database = cp_strdup(c->sinks_clickhouse_database);
    h->http = sink_http_new();
    cp_buf_init(&h->data), cp_buf_init(&h->sql), cp_buf_init(&h->url_buf), cp_buf_init(&h->resp);
    *ctx = h;
    if (!h->url || !h->database || !h->http) return CP_ENOMEM;
    if (strncmp(h->url, "http://", 7) && strncmp(h->url, "https://", 8)) {
        snprintf(err, errlen, "sinks.clickhouse.url: '%s' is not an http:// or https:// URL",
                 h->url);
        return CP_EINVAL;
    }
    if (!h->database[0]) {
        snprintf(err, errlen, "sinks.clickhouse.database: empty");
        return CP_EINVAL;
    }
    return CP_OK;
}

static bool has_datetime64(const ch_sink *h)
{
    return h->major > 20 || (h->major == 20 && h->minor >= 1);
}

/* Renders give integers for dates (days since 1970) and times (seconds, or ms). */
static void ch_map(void *ctx, const char *type, char *dest, size_t destlen, const char **render)
{
    ch_sink *h = ctx;
    static const struct {
        const char *duck, *ch;
    } types[] = {{"BIGINT", "Int64"},     {"INTEGER", "Int32"},  {"SMALLINT", "Int16"},
                 {"TINYINT", "Int8"},     {"UBIGINT", "UInt64"}, {"UINTEGER", "UInt32"},
                 {"USMALLINT", "UInt16"}, {"UTINYINT", "UInt8"}, {"DOUBLE", "Float64"},
                 {"FLOAT", "Float32"}};
    *render = "CAST({} AS VARCHAR)";
    int p = 0, s = 0;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(type, types[i].duck)) {
            snprintf(dest, destlen, "%s", types[i].ch);
            return;
        }
    if (sscanf(type, "DECIMAL(%d,%d)", &p, &s) == 2) {
        snprintf(dest, destlen, "Decimal(%d,%d)", p, s);
    } else if (!strcmp(type, "DATE")) {
        snprintf(dest, destlen, "Date");
        *render = "CAST({} - DATE '1970-01-01' AS VARCHAR)";
    } else if (!strcmp(type, "BOOLEAN")) {
        snprintf(dest, destlen, "UInt8");
        *render = "CAST(CAST({} AS INTEGER) AS VARCHAR)";
    } else if (!strncmp(type, "TIMESTAMP", 9) && has_datetime64(h)) {
        snprintf(dest, destlen, "DateTime64(3,'UTC')");
        *render = "CAST(epoch_ms({}) AS VARCHAR)";
    } else if (!strncmp(type, "TIMESTAMP", 9)) {
        snprintf(dest, destlen, "DateTime('UTC')");
        *render = "CAST(epoch_ms({}) // 1000 AS VARCHAR)";
    } else {
        snprintf(dest, destlen, "String");
    }
}

/* Runs one statement (sql, with data after it when given). */
static int ch_query(ch_sink *h, const char *sql, const cp_buf *data, char *err, size_t errlen)
{
    cp_buf_reset(&h->url_buf);
    if (data) sink_url_param(&h->url_buf, h->url, "query", sql);
    long status = 0;
    int rc =
        data ? sink_http_post(h->http, h->url_buf.ptr, data->ptr, data->len, &status, &h->resp, err,
                              errlen)
             : sink_http_post(h->http, h->url, sql, strlen(sql), &status, &h->resp, err, errlen);
    if (rc) {
        char why[512];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "ClickHouse: %s", why);
        return rc;
    }
    if (status != 200) {
        size_t n = h->resp.len > 400 ? 400 : h->resp.len;
        while (n && (h->resp.ptr[n - 1] == '\n' || h->resp.ptr[n - 1] == ' ')) n--;
        snprintf(err, errlen, "ClickHouse: HTTP %ld: %.*s", status, (int)n,
                 h->resp.ptr ? h->resp.ptr : "");
        return CP_EIO;
    }
    return CP_OK;
}

static int ch_connect(void *ctx, char *err, size_t errlen)
{
    ch_sink *h = ctx;
    int rc = ch_query(h, "SELECT version()", NULL, err, errlen);
    if (rc) return rc;
    if (sscanf(h->resp.ptr ? h->resp.ptr : "", "%d.%d", &h->major, &h->minor) != 2) {
        snprintf(err, errlen, "ClickHouse: unexpected answer to SELECT version()");
        return CP_EIO;
    }
    cp_buf_reset(&h->sql);
    cp_buf_append_str(&h->sql, "CREATE DATABASE IF NOT EXISTS ");
    sink_quote_ident(&h->sql, h->database, '`');
    return ch_query(h, h->sql.ptr, NULL, err, errlen);
}

static void ch_disconnect(void *ctx)
{
    (void)ctx; /* HTTP: nothing held between requests but curl's connection cache */
}

static void qualified(ch_sink *h, cp_buf *b, const char *table, const char *suffix)
{
    sink_quote_ident(b, h->database, '`');
    cp_buf_append_char(b, '.');
    char name[300];
    snprintf(name, sizeof(name), "%s%s", table, suffix);
    sink_quote_ident(b, name, '`');
}

/* The type a column has there: Nullable but for the sort key. */
static void column_type(const sink_stream *st, size_t i, char *out, size_t len)
{
    if ((int)i == st->key && st->mode == SINK_APPEND)
        snprintf(out, len, "%s", st->cols[i].dest);
    else
        snprintf(out, len, "Nullable(%s)", st->cols[i].dest);
}

/* "<verb> db.<table><suffix>", run. */
static int table_statement(ch_sink *h, const char *verb, const char *table, const char *suffix,
                           char *err, size_t errlen)
{
    cp_buf *q = &h->sql;
    cp_buf_reset(q);
    cp_buf_appendf(q, "%s ", verb);
    qualified(h, q, table, suffix);
    return ch_query(h, q->ptr, NULL, err, errlen);
}

static int create_table(ch_sink *h, const sink_stream *st, const char *suffix, char *err,
                        size_t errlen)
{
    cp_buf *q = &h->sql;
    cp_buf_reset(q);
    cp_buf_append_str(q, "CREATE TABLE ");
    qualified(h, q, st->name, suffix);
    sink_column_list(q, st, '`', column_type);
    cp_buf_appendf(q, " ENGINE = MergeTree() ORDER BY %s",
                   st->mode == SINK_APPEND ? "`offset`" : "tuple()");
    return ch_query(h, q->ptr, NULL, err, errlen);
}

/* Type names as system.columns spells them, compared without spaces and escapes. */
static bool same_type(const char *a, const char *b)
{
    for (;;) {
        while (*a == ' ' || *a == '\\') a++;
        while (*b == ' ' || *b == '\\') b++;
        if (*a != *b) return false;
        if (!*a) return true;
        a++, b++;
    }
}

/* The type of column name in the TabSeparated "name\ttype" lines of cols, or NULL. */
static const char *type_in(char *cols, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    for (char *line = cols; line && *line;) {
        char *end = strchr(line, '\n');
        size_t ll = end ? (size_t)(end - line) : strlen(line);
        if (ll > nl && !strncmp(line, name, nl) && line[nl] == '\t') {
            snprintf(out, len, "%.*s", (int)(ll - nl - 1), line + nl + 1);
            return out;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

static int ch_prepare(void *ctx, sink_stream *st, char *err, size_t errlen)
{
    ch_sink *h = ctx;
    cp_buf *q = &h->sql;
    cp_buf_reset(q);
    cp_buf_append_str(q, "SELECT name, type FROM system.columns WHERE database = ");
    cp_buf_append_sql_str(q, h->database);
    cp_buf_append_str(q, " AND table = ");
    cp_buf_append_sql_str(q, st->name);
    cp_buf_append_str(q, " FORMAT TabSeparated");
    int rc = ch_query(h, q->ptr, NULL, err, errlen);
    if (rc) return rc;
    char *cols = cp_strndup(h->resp.ptr ? h->resp.ptr : "", h->resp.len);
    if (!cols) return CP_ENOMEM;
    bool have = cols[0] != '\0', recreate = false;
    for (size_t i = 0; rc == CP_OK && have && i < st->ncols && !recreate; i++) {
        char there[128], want[80];
        column_type(st, i, want, sizeof(want));
        if (!type_in(cols, st->cols[i].name, there, sizeof(there))) {
            cp_buf_reset(q);
            cp_buf_append_str(q, "ALTER TABLE ");
            qualified(h, q, st->name, "");
            cp_buf_append_str(q, " ADD COLUMN ");
            sink_quote_ident(q, st->cols[i].name, '`');
            cp_buf_appendf(q, " %s", want);
            rc = ch_query(h, q->ptr, NULL, err, errlen);
        } else if (!same_type(there, want)) {
            if (st->mode != SINK_REPLACE) {
                snprintf(err, errlen, "ClickHouse: %s.%s.%s is %s, not %s: change or drop it there",
                         h->database, st->name, st->cols[i].name, there, want);
                rc = CP_ETYPE;
            }
            recreate = true;
        }
    }
    cp_free(cols);
    if (rc == CP_OK && recreate) {
        rc = table_statement(h, "DROP TABLE", st->name, "", err, errlen);
        have = false;
    }
    if (rc == CP_OK && !have) rc = create_table(h, st, "", err, errlen);
    if (rc == CP_OK && !have && st->mode == SINK_REPLACE) st->position = 0; /* deliver again */
    if (rc || st->mode != SINK_APPEND) return rc;
    cp_buf_reset(q);
    cp_buf_append_str(q, "SELECT count(), max(`offset`) FROM ");
    qualified(h, q, st->name, "");
    cp_buf_append_str(q, " FORMAT TabSeparated");
    if ((rc = ch_query(h, q->ptr, NULL, err, errlen))) return rc;
    long long n = 0, max = 0;
    if (sscanf(h->resp.ptr ? h->resp.ptr : "", "%lld\t%lld", &n, &max) != 2) {
        snprintf(err, errlen, "ClickHouse: unexpected answer for the position of %s", st->name);
        return CP_EIO;
    }
    st->position = n ? max : -1;
    return CP_OK;
}

static int ch_begin(void *ctx, const sink_stream *st)
{
    ch_sink *h = ctx;
    cp_buf_reset(&h->data);
    if (st->ncols > MAX_COLS) return CP_ETOOBIG;
    for (size_t i = 0; i < st->ncols; i++) {
        const char *d = st->cols[i].dest;
        int p = 0, s = 0;
        h->nullable[i] = !((int)i == st->key && st->mode == SINK_APPEND);
        h->scale[i] = 0;
        if (sscanf(d, "Decimal(%d,%d)", &p, &s) == 2) {
            h->enc[i] = p <= 9 ? E_DEC32 : p <= 18 ? E_DEC64 : E_DEC128;
            h->scale[i] = s;
        } else if (!strcmp(d, "Float64")) {
            h->enc[i] = E_F64;
        } else if (!strcmp(d, "Float32")) {
            h->enc[i] = E_F32;
        } else if (!strcmp(d, "Date")) {
            h->enc[i] = E_DATE;
        } else if (!strncmp(d, "DateTime64", 10)) {
            h->enc[i] = E_I64;
        } else if (!strncmp(d, "DateTime", 8)) {
            h->enc[i] = E_DATETIME;
        } else if (!strcmp(d, "String")) {
            h->enc[i] = E_STRING;
        } else { /* Int8 ... UInt64 */
            int bits = atoi(d + (d[0] == 'U' ? 4 : 3));
            h->enc[i] = bits == 8 ? E_I8 : bits == 16 ? E_I16 : bits == 32 ? E_I32 : E_I64;
        }
    }
    return CP_OK;
}

/* A decimal number as an integer scaled by 10^scale (digits past the scale dropped). */
static __int128 scaled(cp_slice v, int scale)
{
    __int128 n = 0;
    size_t i = 0;
    bool neg = v.len && v.ptr[0] == '-';
    int frac = -1;
    for (i = neg; i < v.len; i++) {
        if (v.ptr[i] == '.') {
            frac = 0;
            continue;
        }
        if (v.ptr[i] < '0' || v.ptr[i] > '9' || frac == scale) break;
        n = n * 10 + (v.ptr[i] - '0');
        if (frac >= 0) frac++;
    }
    for (int f = frac < 0 ? 0 : frac; f < scale; f++) n *= 10;
    return neg ? -n : n;
}

static void put_le(cp_buf *b, unsigned __int128 v, int bytes)
{
    unsigned char out[16];
    for (int i = 0; i < bytes; i++) out[i] = (unsigned char)(v >> (8 * i));
    cp_buf_append(b, out, (size_t)bytes);
}

static void put_value(cp_buf *b, ch_enc e, int scale, cp_slice v)
{
    char num[64];
    snprintf(num, sizeof(num), "%.*s", (int)(v.len < 63 ? v.len : 63), v.ptr);
    switch (e) {
    case E_STRING: {
        unsigned char len[10];
        size_t n = 0;
        for (uint64_t x = v.len; n == 0 || x; x >>= 7)
            len[n++] = (unsigned char)((x & 127) | (x >> 7 ? 128 : 0));
        cp_buf_append(b, len, n);
        cp_buf_append(b, v.ptr, v.len);
        break;
    }
    case E_F64: {
        double d = strtod(num, NULL);
        uint64_t bits;
        memcpy(&bits, &d, 8);
        put_le(b, bits, 8);
        break;
    }
    case E_F32: {
        float f = strtof(num, NULL);
        uint32_t bits;
        memcpy(&bits, &f, 4);
        put_le(b, bits, 4);
        break;
    }
    case E_DEC32:
        put_le(b, (unsigned __int128)scaled(v, scale), 4);
        break;
    case E_DEC64:
        put_le(b, (unsigned __int128)scaled(v, scale), 8);
        break;
    case E_DEC128:
        put_le(b, (unsigned __int128)scaled(v, scale), 16);
        break;
    default: { /* integers, days, seconds: two's complement of the width */
        static const int width[] = {
            [E_I8] = 1, [E_I16] = 2, [E_I32] = 4, [E_I64] = 8, [E_DATE] = 2, [E_DATETIME] = 4};
        unsigned __int128 n = num[0] == '-' ? (unsigned __int128)strtoll(num, NULL, 10)
                                            : (unsigned __int128)strtoull(num, NULL, 10);
        put_le(b, n, width[e]);
    }
    }
}

static int ch_row(void *ctx, const sink_stream *st, const cp_slice *v)
{
    ch_sink *h = ctx;
    for (size_t i = 0; i < st->ncols; i++) {
        if (h->nullable[i]) cp_buf_append_char(&h->data, v[i].ptr ? 0 : 1);
        if (v[i].ptr)
            put_value(&h->data, h->enc[i], h->scale[i], v[i]);
        else if (!h->nullable[i])
            put_value(&h->data, h->enc[i], 0, CP_SLICE_LIT("0"));
    }
    return CP_OK;
}

static int insert(ch_sink *h, const sink_stream *st, const char *suffix, char *err, size_t errlen)
{
    cp_buf q;
    cp_buf_init(&q);
    cp_buf_append_str(&q, "INSERT INTO ");
    qualified(h, &q, st->name, suffix);
    sink_column_list(&q, st, '`', NULL);
    cp_buf_append_str(&q, " FORMAT RowBinary");
    int rc = q.ptr ? ch_query(h, q.ptr, &h->data, err, errlen) : CP_ENOMEM;
    cp_buf_free(&q);
    return rc;
}

/* A whole table: filled as <name>__new, then swapped in. */
static int replace(ch_sink *h, const sink_stream *st, char *err, size_t errlen)
{
    int rc = table_statement(h, "DROP TABLE IF EXISTS", st->name, "__new", err, errlen);
    if (rc == CP_OK) rc = create_table(h, st, "__new", err, errlen);
    if (rc == CP_OK && h->data.len) rc = insert(h, st, "__new", err, errlen);
    if (rc == CP_OK)
        rc = table_statement(h, "DROP TABLE IF EXISTS", st->name, "__old", err, errlen);
    cp_buf *q = &h->sql;
    cp_buf_reset(q);
    cp_buf_append_str(q, "RENAME TABLE ");
    qualified(h, q, st->name, "");
    cp_buf_append_str(q, " TO ");
    qualified(h, q, st->name, "__old");
    cp_buf_append_str(q, ", ");
    qualified(h, q, st->name, "__new");
    cp_buf_append_str(q, " TO ");
    qualified(h, q, st->name, "");
    if (rc == CP_OK) rc = ch_query(h, q->ptr, NULL, err, errlen);
    if (rc == CP_OK) rc = table_statement(h, "DROP TABLE", st->name, "__old", err, errlen);
    return rc;
}

static int ch_commit(void *ctx, const sink_stream *st, char *err, size_t errlen)
{
    ch_sink *h = ctx;
    return st->mode == SINK_REPLACE ? replace(h, st, err, errlen) : insert(h, st, "", err, errlen);
}

static void ch_free(void *ctx)
{
    ch_sink *h = ctx;
    sink_http_free(h->http);
    cp_buf_free(&h->data), cp_buf_free(&h->sql), cp_buf_free(&h->url_buf), cp_buf_free(&h->resp);
    cp_free(h->url);
    cp_free(h->database);
    cp_free(h);
}

const cp_sink_ops cp_sink_clickhouse = {
    .name = "clickhouse",
    .tables = ch_tables,
    .open = ch_open,
    .map = ch_map,
    .connect = ch_connect,
    .prepare = ch_prepare,
    .begin = ch_begin,
    .row = ch_row,
    .commit = ch_commit,
    .disconnect = ch_disconnect,
    .free = ch_free,
};

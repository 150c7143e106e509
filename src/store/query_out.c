/* Statement results printed as they stream out of DuckDB, a chunk (2,048 rows) at a
 * time: memory stays bounded whatever the result's size, rows past the limit are only
 * counted (the count stops at the deadline), and every value is read with its length
 * from the chunk's vectors, so a string holding a NUL byte comes out whole. Types are
 * written as DuckDB's cast to VARCHAR writes them, TIMESTAMPTZ as RFC 3339 UTC. A result
 * with a type not handled here (lists, structs, maps, …) is materialised by the caller
 * (store_stream_supported) and printed the same way from DuckDB's text of each value
 * (store_print_materialized). */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/str.h"
#include "clickpulse/time.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHOWN_COLS 64 /* the table format's columns */

typedef struct out_col {
    duckdb_type type;
    uint8_t scale;       /* DECIMAL */
    duckdb_type storage; /* DECIMAL's internal type */
    const char *name;
} out_col;

int store_stream_supported(duckdb_type t)
{
    switch (t) {
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_DATE:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
        return 1;
    default:
        return 0;
    }
}

static int is_number(duckdb_type t)
{
    return t != DUCKDB_TYPE_VARCHAR && t != DUCKDB_TYPE_DATE && t != DUCKDB_TYPE_TIMESTAMP &&
           t != DUCKDB_TYPE_TIMESTAMP_TZ;
}

/* A signed 128-bit integer in decimal, with scale digits after the point. */
static size_t put_i128(char *out, __int128 v, int scale)
{
    char digits[48];
    int n = 0, neg = v < 0;
    unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u || n <= scale);
    size_t k = 0;
    if (neg) out[k++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        out[k++] = digits[i];
        if (i == scale && scale > 0) out[k++] = '.';
    }
    out[k] = 0;
    return k;
}

/* A double the way DuckDB writes it: the shortest digits that read back the same, in
 * plain notation with ".0" on whole numbers, exponent notation when very large or small. */
static size_t put_double(char *out, double d)
{
    if (isnan(d)) return (size_t)sprintf(out, "nan");
    if (isinf(d)) return (size_t)sprintf(out, d < 0 ? "-inf" : "inf");
    int p = 1;
    for (; p < 17; p++) {
        snprintf(out, 40, "%.*e", p - 1, d);
        if (strtod(out, NULL) == d) break;
    }
    int exp = d == 0 ? 0 : atoi(strchr(out, 'e') + 1);
    if (exp < -5 || exp >= 16) return (size_t)snprintf(out, 40, "%.*e", p - 1, d);
    int n = snprintf(out, 40, "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, d);
    if (!strchr(out, '.')) n += sprintf(out + n, ".0");
    return (size_t)n;
}

/* The civil date of a day count since 1970-01-01. */
static size_t put_date(char *out, int64_t days)
{
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100),
            mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    return (size_t)sprintf(out, "%04" PRId64 "-%02" PRId64 "-%02" PRId64, y + (m <= 2), m, d);
}

static size_t put_timestamp(char *out, int64_t us)
{
    int64_t days = us >= 0 ? us / 86400000000LL : -((-us + 86399999999LL) / 86400000000LL);
    int64_t rest = us - days * 86400000000LL;
    size_t n = put_date(out, days);
    int64_t s = rest / 1000000, frac = rest % 1000000;
    n += (size_t)sprintf(out + n, " %02d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60),
                         (int)(s % 60));
    if (frac) {
        n += (size_t)sprintf(out + n, ".%06d", (int)frac);
        while (out[n - 1] == '0') out[--n] = 0;
    }
    return n;
}

/* A DuckDB HUGEINT as a native one (its upper half signed, its lower half not). */
static __int128 hugeint(duckdb_hugeint h)
{
    return (__int128)((unsigned __int128)(uint64_t)h.upper << 64 | h.lower);
}

/* Row i of column c as text: *v points at it (buf or the chunk's own string), NULL for
 * SQL NULL; returns its length. */
static size_t value_at(const out_col *c, duckdb_vector vec, idx_t i, char *buf, const char **v)
{
    uint64_t *valid = duckdb_vector_get_validity(vec);
    void *data = duckdb_vector_get_data(vec);
    *v = buf;
    if (valid && !duckdb_validity_row_is_valid(valid, i)) {
        *v = NULL;
        return 0;
    }
    switch (c->type) {
    case DUCKDB_TYPE_BOOLEAN:
        return (size_t)sprintf(buf, "%s", ((bool *)data)[i] ? "true" : "false");
    case DUCKDB_TYPE_TINYINT:
        return (size_t)sprintf(buf, "%d", ((int8_t *)data)[i]);
    case DUCKDB_TYPE_SMALLINT:
        return (size_t)sprintf(buf, "%d", ((int16_t *)data)[i]);
    case DUCKDB_TYPE_INTEGER:
        return (size_t)sprintf(buf, "%" PRId32, ((int32_t *)data)[i]);
    case DUCKDB_TYPE_BIGINT:
        return (size_t)sprintf(buf, "%" PRId64, ((int64_t *)data)[i]);
    case DUCKDB_TYPE_UTINYINT:
        return (size_t)sprintf(buf, "%u", ((uint8_t *)data)[i]);
    case DUCKDB_TYPE_USMALLINT:
        return (size_t)sprintf(buf, "%u", ((uint16_t *)data)[i]);
    case DUCKDB_TYPE_UINTEGER:
        return (size_t)sprintf(buf, "%" PRIu32, ((uint32_t *)data)[i]);
    case DUCKDB_TYPE_UBIGINT:
        return (size_t)sprintf(buf, "%" PRIu64, ((uint64_t *)data)[i]);
    case DUCKDB_TYPE_HUGEINT:
        return put_i128(buf, hugeint(((duckdb_hugeint *)data)[i]), 0);
    case DUCKDB_TYPE_FLOAT:
        return put_double(buf, (double)((float *)data)[i]);
    case DUCKDB_TYPE_DOUBLE:
        return put_double(buf, ((double *)data)[i]);
    case DUCKDB_TYPE_DECIMAL: {
        __int128 x = 0;
        if (c->storage == DUCKDB_TYPE_SMALLINT)
            x = ((int16_t *)data)[i];
        else if (c->storage == DUCKDB_TYPE_INTEGER)
            x = ((int32_t *)data)[i];
        else if (c->storage == DUCKDB_TYPE_BIGINT)
            x = ((int64_t *)data)[i];
        else
            x = hugeint(((duckdb_hugeint *)data)[i]);
        return put_i128(buf, x, c->scale);
    }
    case DUCKDB_TYPE_DATE:
        return put_date(buf, ((int32_t *)data)[i]);
    case DUCKDB_TYPE_TIMESTAMP:
        return put_timestamp(buf, ((int64_t *)data)[i]);
    case DUCKDB_TYPE_TIMESTAMP_TZ: {
        int64_t us = ((int64_t *)data)[i];
        return cp_time_format(us >= 0 ? us / 1000 : -((-us + 999) / 1000), buf);
    }
    default: { /* VARCHAR */
        duckdb_string_t *s = &((duckdb_string_t *)data)[i];
        *v = duckdb_string_t_data(s);
        return duckdb_string_t_length(*s);
    }
    }
}

static void put_csv(FILE *out, const char *v, size_t n)
{
    if (!v) return;
    if (!memchr(v, ',', n) && !memchr(v, '"', n) && !memchr(v, '\n', n) && !memchr(v, '\r', n)) {
        fwrite(v, 1, n, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '"') fputc('"', out);
        fputc(v[i], out);
    }
    fputc('"', out);
}

static void put_json(FILE *out, const out_col *c, const char *v, size_t n, cp_buf *tmp)
{
    if (!v) {
        fputs("null", out);
    } else if (is_number(c->type) && !(n && (v[n - 1] == 'n' || v[n - 1] == 'f'))) {
        fwrite(v, 1, n, out); /* nan, inf and -inf are strings in JSON */
    } else {
        cp_buf_reset(tmp);
        cp_buf_append_json_str(tmp, v, n);
        fwrite(tmp->ptr, 1, tmp->len, out);
    }
}

static size_t width_of(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

/* The table format keeps the shown rows' text (at most max_rows) to size its columns. */
typedef struct table_rows {
    cp_buf text;  /* the values, one after another */
    cp_buf cells; /* per cell: offset (size_t), length (size_t; SIZE_MAX: NULL) */
    size_t width[MAX_SHOWN_COLS];
} table_rows;

static int table_keep(table_rows *t, const char *v, size_t n, idx_t c)
{
    size_t cell[2] = {t->text.len, v ? n : SIZE_MAX};
    if ((v && cp_buf_append(&t->text, v, n)) ||
        cp_buf_append(&t->cells, (char *)cell, sizeof(cell)))
        return CP_ENOMEM;
    size_t w = v ? width_of(v, n) : 4;
    if (w > t->width[c]) t->width[c] = w > 60 ? 60 : w;
    return CP_OK;
}

static void table_print(table_rows *t, const out_col *cols, idx_t shown, idx_t rows, FILE *out)
{
    for (idx_t c = 0; c < shown; c++) { /* a column is as wide as its name, at least */
        size_t w = width_of(cols[c].name, strlen(cols[c].name));
        if (w > t->width[c]) t->width[c] = w;
        fprintf(out, "%s%s%*s", c ? " | " : "", cols[c].name,
                (int)(t->width[c] > w ? t->width[c] - w : 0), "");
    }
    fputc('\n', out);
    for (idx_t c = 0; c < shown; c++) {
        fputs(c ? "-+-" : "", out);
        for (size_t k = 0; k < t->width[c]; k++) fputc('-', out);
    }
    fputc('\n', out);
    const size_t *cell = (const size_t *)(void *)t->cells.ptr;
    for (idx_t i = 0; i < rows; i++) {
        for (idx_t c = 0; c < shown; c++, cell += 2) {
            const char *v = cell[1] == SIZE_MAX ? "NULL" : t->text.ptr + cell[0];
            size_t n = cell[1] == SIZE_MAX ? 4 : cell[1], w = width_of(v, n);
            size_t pad = w < t->width[c] ? t->width[c] - w : 0;
            fputs(c ? " | " : "", out);
            if (is_number(cols[c].type)) fprintf(out, "%*s", (int)pad, "");
            fwrite(v, 1, n, out);
            if (!is_number(cols[c].type)) fprintf(out, "%*s", (int)pad, "");
        }
        fputc('\n', out);
    }
    fprintf(out, "(%llu row%s)\n", (unsigned long long)rows, rows == 1 ? "" : "s");
}

/* Rows written in the asked format, one at a time, whichever way their values are read. */
typedef struct emitter {
    FILE *out;
    cp_query_format fmt;
    out_col *cols;
    idx_t n, shown;
    int64_t printed;
    table_rows t; /* the table format's rows, printed at the end */
    cp_buf tmp;
    char (*bufs)[64]; /* a row's values written as text, a column each */
    const char **v;
    size_t *len;
} emitter;

static int emit_begin(emitter *e, duckdb_result *r, cp_query_format fmt, FILE *out)
{
    memset(e, 0, sizeof(*e));
    e->out = out;
    e->fmt = fmt;
    e->n = duckdb_column_count(r);
    e->shown = e->n < MAX_SHOWN_COLS ? e->n : MAX_SHOWN_COLS;
    size_t k = e->n ? e->n : 1;
    e->cols = cp_calloc(k, sizeof(*e->cols));
    e->bufs = cp_calloc(k, sizeof(*e->bufs));
    e->v = cp_calloc(k, sizeof(*e->v));
    e->len = cp_calloc(k, sizeof(*e->len));
    cp_buf_init(&e->tmp);
    cp_buf_init(&e->t.text);
    cp_buf_init(&e->t.cells);
    if (!e->cols || !e->bufs || !e->v || !e->len) return CP_ENOMEM;
    for (idx_t c = 0; c < e->n; c++) {
        out_col *col = &e->cols[c];
        col->type = duckdb_column_type(r, c);
        col->name = duckdb_column_name(r, c);
        if (col->type == DUCKDB_TYPE_DECIMAL) {
            duckdb_logical_type lt = duckdb_column_logical_type(r, c);
            col->scale = duckdb_decimal_scale(lt);
            col->storage = duckdb_decimal_internal_type(lt);
            duckdb_destroy_logical_type(&lt);
        }
    }
    if (fmt == CP_QUERY_CSV) {
        for (idx_t c = 0; c < e->n; c++) {
            if (c) fputc(',', out);
            put_csv(out, e->cols[c].name, strlen(e->cols[c].name));
        }
        fputc('\n', out);
    } else if (fmt == CP_QUERY_JSON) {
        fputc('[', out);
    }
    return CP_OK;
}

/* The row whose values are in e->v and e->len (v NULL: SQL NULL). */
static int emit_row(emitter *e)
{
    FILE *out = e->out;
    int first = e->printed++ == 0;
    if (e->fmt == CP_QUERY_TABLE) {
        for (idx_t c = 0; c < e->shown; c++)
            if (table_keep(&e->t, e->v[c], e->len[c], c)) return CP_ENOMEM;
        return CP_OK;
    }
    if (e->fmt == CP_QUERY_JSON) fputs(first ? "{" : ",\n {", out);
    for (idx_t c = 0; c < e->n; c++) {
        if (e->fmt == CP_QUERY_CSV) {
            if (c) fputc(',', out);
            put_csv(out, e->v[c], e->len[c]);
        } else {
            cp_buf_reset(&e->tmp);
            cp_buf_append_json_str(&e->tmp, e->cols[c].name, strlen(e->cols[c].name));
            fprintf(out, "%s%.*s:", c ? "," : "", (int)e->tmp.len, e->tmp.ptr);
            put_json(out, &e->cols[c], e->v[c], e->len[c], &e->tmp);
        }
    }
    fputs(e->fmt == CP_QUERY_CSV ? "\n" : "}", out);
    return ferror(out) ? CP_EIO : CP_OK; /* the caller's bound */
}

static void emit_end(emitter *e, int rc)
{
    if (rc == CP_OK && e->fmt == CP_QUERY_TABLE)
        table_print(&e->t, e->cols, e->shown, (idx_t)e->printed, e->out);
    if (rc == CP_OK && e->fmt == CP_QUERY_JSON) fputs("]\n", e->out);
    cp_buf_free(&e->tmp);
    cp_buf_free(&e->t.text);
    cp_buf_free(&e->t.cells);
    cp_free(e->cols);
    cp_free(e->bufs);
    cp_free(e->v);
    cp_free(e->len);
}

int store_stream_out(duckdb_result *r, const cp_query_args *a, int64_t deadline_ms, FILE *out,
                     char *err, size_t errlen)
{
    emitter e;
    int rc = emit_begin(&e, r, a->format, out);
    int64_t limit = a->max_rows > 0 ? a->max_rows : INT64_MAX, rows = 0;
    duckdb_data_chunk ch;
    while (rc == CP_OK && (ch = duckdb_fetch_chunk(*r))) {
        idx_t size = duckdb_data_chunk_get_size(ch);
        for (idx_t i = 0; i < size && e.printed < limit && rc == CP_OK; i++) {
            for (idx_t c = 0; c < e.n; c++)
                e.len[c] = value_at(&e.cols[c], duckdb_data_chunk_get_vector(ch, c), i, e.bufs[c],
                                    &e.v[c]);
            rc = emit_row(&e);
        }
        rows += (int64_t)size;
        duckdb_destroy_data_chunk(&ch);
        if (e.printed >= limit && !a->total_rows) break; /* nobody wants the count */
        if (deadline_ms && cp_now_ms() > deadline_ms) {
            if (e.printed < limit && rc == CP_OK) {
                snprintf(err, errlen, "the query ran longer than %d ms and was stopped",
                         a->timeout_ms);
                rc = CP_ETIMEOUT;
            }
            break; /* past the limit: the count so far */
        }
    }
    emit_end(&e, rc);
    if (a->total_rows) *a->total_rows = rows;
    if (rc == CP_ENOMEM) snprintf(err, errlen, "out of memory");
    if (rc == CP_EIO) snprintf(err, errlen, "the answer could not be written");
    return rc;
}

/* A cell of a materialised result as text (free with duckdb_free), NULL for SQL NULL.
 * DuckDB's value API has no text for some types; TIMESTAMPTZ is written as RFC 3339 UTC. */
static char *cell(duckdb_result *r, idx_t c, idx_t i)
{
    char *v = duckdb_value_varchar(r, c, i);
    if (v || duckdb_value_is_null(r, c, i)) return v;
    char tmp[40];
    if (duckdb_column_type(r, c) == DUCKDB_TYPE_TIMESTAMP_TZ) {
        const int64_t *micros = duckdb_column_data(r, c); /* since the epoch, UTC */
        int64_t us = micros ? micros[i] : 0;
        int64_t ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
        tmp[cp_time_format(ms, tmp)] = 0;
    } else {
        snprintf(tmp, sizeof(tmp), "?");
    }
    size_t n = strlen(tmp);
    char *out = duckdb_malloc(n + 1);
    if (out) memcpy(out, tmp, n + 1);
    return out;
}

int store_print_materialized(duckdb_result *r, const cp_query_args *a, FILE *out, char *err,
                             size_t errlen)
{
    emitter e;
    int rc = emit_begin(&e, r, a->format, out);
    idx_t rows = duckdb_row_count(r);
    if (a->total_rows) *a->total_rows = (int64_t)rows;
    if (a->max_rows > 0 && rows > (idx_t)a->max_rows) rows = (idx_t)a->max_rows;
    for (idx_t i = 0; i < rows && rc == CP_OK; i++) {
        for (idx_t c = 0; c < e.n; c++) {
            char *v = cell(r, c, i);
            e.v[c] = v;
            e.len[c] = v ? strlen(v) : 0;
        }
        rc = emit_row(&e);
        for (idx_t c = 0; c < e.n; c++) duckdb_free((void *)e.v[c]);
    }
    emit_end(&e, rc);
    if (rc == CP_ENOMEM) snprintf(err, errlen, "out of memory");
    if (rc == CP_EIO) snprintf(err, errlen, "the answer could not be written");
    return rc;
}

/* The next word of s after blanks, comments and opening parentheses, into word. */
static const char *next_word(const char *s, char *word, size_t cap)
{
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '(') s++;
        if (s[0] == '-' && s[1] == '-') {
            s += strcspn(s, "\n");
        } else if (s[0] == '/' && s[1] == '*') {
            const char *end = strstr(s + 2, "*/");
            s = end ? end + 2 : s + strlen(s);
        } else {
            break;
        }
    }
    size_t n = 0;
    for (; ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') || *s == '_'; s++)
        if (n + 1 < cap) word[n++] = (char)(*s | 0x20);
    word[n] = 0;
    return s;
}

int store_reads_only(const char *sql)
{
    static const char *const reads[] = {"select", "with",     "from",      "values", "table",
                                        "show",   "describe", "summarize", NULL};
    char word[16];
    const char *s = next_word(sql, word, sizeof(word));
    if (strcmp(word, "explain") == 0) { /* binding what it explains may write: looked at too */
        s = next_word(s, word, sizeof(word));
        if (strcmp(word, "analyze") == 0) next_word(s, word, sizeof(word));
    }
    for (size_t i = 0; reads[i]; i++)
        if (strcmp(word, reads[i]) == 0) return 1;
    return 0;
}

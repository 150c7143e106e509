/* Rows appended a data chunk at a time: each value written straight into the chunk's
 * vectors in the table's own types (no conversion value by value, as the appender's
 * per-value calls make), the chunk handed to the appender when full and at commit.
 * Text into an ENUM column becomes its code, looked up in the column's dictionary. */
#include "internal.h"

#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"

#include <string.h>

/* The names of an ENUM column, for looking a text up. */
struct row_enum {
    char **names;
    uint32_t *lens;
    uint32_t n;
};

static void enum_free(row_enum *e)
{
    for (uint32_t i = 0; i < e->n; i++) duckdb_free(e->names[i]);
    cp_free(e->names);
    cp_free(e->lens);
    memset(e, 0, sizeof(*e));
}

static int enum_load(row_enum *e, duckdb_logical_type t)
{
    uint32_t n = duckdb_enum_dictionary_size(t);
    e->names = cp_calloc(n ? n : 1, sizeof(*e->names));
    e->lens = cp_calloc(n ? n : 1, sizeof(*e->lens));
    if (!e->names || !e->lens) return CP_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        e->names[i] = duckdb_enum_dictionary_value(t, i);
        if (!e->names[i]) return CP_ENOMEM;
        e->lens[i] = (uint32_t)strlen(e->names[i]);
        e->n = i + 1;
    }
    return CP_OK;
}

void row_chunk_free(row_chunk *c)
{
    if (c->chunk) duckdb_destroy_data_chunk(&c->chunk);
    for (idx_t i = 0; i < c->ncols; i++)
        if (c->enums) enum_free(&c->enums[i]);
    cp_free(c->enums);
    cp_free(c->vec);
    cp_free(c->types);
    memset(c, 0, sizeof(*c));
}

/* Points the columns at the chunk's vectors, each with a validity mask to write in. */
static void chunk_reset(row_chunk *c)
{
    duckdb_data_chunk_reset(c->chunk);
    for (idx_t i = 0; i < c->ncols; i++) {
        duckdb_vector v = duckdb_data_chunk_get_vector(c->chunk, i);
        duckdb_vector_ensure_validity_writable(v);
        c->vec[i] = (row_vec){v, duckdb_vector_get_data(v), duckdb_vector_get_validity(v)};
    }
    c->rows = 0;
}

int row_chunk_open(row_chunk *c, duckdb_appender a)
{
    memset(c, 0, sizeof(*c));
    idx_t n = duckdb_appender_column_count(a);
    duckdb_logical_type *types = cp_calloc(n ? n : 1, sizeof(*types));
    c->vec = cp_calloc(n ? n : 1, sizeof(*c->vec));
    c->types = cp_calloc(n ? n : 1, sizeof(*c->types));
    c->enums = cp_calloc(n ? n : 1, sizeof(*c->enums));
    int rc = types && c->vec && c->types && c->enums ? CP_OK : CP_ENOMEM;
    c->ncols = n;
    for (idx_t i = 0; i < n && rc == CP_OK; i++) {
        types[i] = duckdb_appender_column_type(a, i);
        c->types[i] = duckdb_get_type_id(types[i]);
        if (c->types[i] == DUCKDB_TYPE_DECIMAL &&
            (duckdb_decimal_internal_type(types[i]) != DUCKDB_TYPE_BIGINT ||
             duckdb_decimal_scale(types[i]) != 2))
            rc = CP_ETYPE; /* row_money writes cents in an int64 */
        else if (c->types[i] == DUCKDB_TYPE_ENUM) {
            if (duckdb_enum_internal_type(types[i]) != DUCKDB_TYPE_UTINYINT)
                rc = CP_ETYPE; /* more than 255 names: not one of silver's */
            else
                rc = enum_load(&c->enums[i], types[i]);
        }
    }
    if (rc == CP_OK) {
        c->chunk = duckdb_create_data_chunk(types, n);
        if (!c->chunk) rc = CP_ENOMEM;
    }
    for (idx_t i = 0; types && i < n; i++)
        if (types[i]) duckdb_destroy_logical_type(&types[i]);
    cp_free(types);
    if (rc) {
        row_chunk_free(c);
        return rc;
    }
    c->cap = duckdb_vector_size();
    chunk_reset(c);
    return CP_OK;
}

int row_chunk_flush(row_chunk *c, duckdb_appender a)
{
    if (!c->chunk || !c->rows) return CP_OK;
    duckdb_data_chunk_set_size(c->chunk, c->rows);
    int rc = duckdb_append_data_chunk(a, c->chunk) == DuckDBError ? CP_EDB : CP_OK;
    chunk_reset(c);
    return rc;
}

int row_chunk_end(row_chunk *c, duckdb_appender a)
{
    return ++c->rows == c->cap ? row_chunk_flush(c, a) : CP_OK;
}

static void null_at(row_chunk *c, idx_t col)
{
    duckdb_validity_set_row_invalid(c->vec[col].valid, c->rows);
}

int row_text(row_chunk *c, idx_t col, cp_slice v)
{
    if (!v.ptr) {
        null_at(c, col);
        return CP_OK;
    }
    duckdb_validity_set_row_valid(c->vec[col].valid, c->rows); /* a refused row's NULL */
    if (c->types[col] != DUCKDB_TYPE_ENUM) {
        duckdb_vector_assign_string_element_len(c->vec[col].vec, c->rows, v.ptr, v.len);
        return CP_OK;
    }
    const row_enum *e = &c->enums[col];
    for (uint32_t i = 0; i < e->n; i++)
        if (e->lens[i] == v.len && memcmp(e->names[i], v.ptr, v.len) == 0) {
            ((uint8_t *)c->vec[col].data)[c->rows] = (uint8_t)i;
            return CP_OK;
        }
    return CP_ERANGE; /* a name the column's ENUM lacks */
}

void row_i64(row_chunk *c, idx_t col, int64_t v)
{
    ((int64_t *)c->vec[col].data)[c->rows] = v;
}

void row_u64(row_chunk *c, idx_t col, uint64_t v)
{
    ((uint64_t *)c->vec[col].data)[c->rows] = v;
}

void row_bool(row_chunk *c, idx_t col, bool v)
{
    ((bool *)c->vec[col].data)[c->rows] = v;
}

void row_time(row_chunk *c, idx_t col, int64_t ms)
{
    ((int64_t *)c->vec[col].data)[c->rows] = ms * 1000;
}

void row_date(row_chunk *c, idx_t col, int64_t ms)
{
    ((int32_t *)c->vec[col].data)[c->rows] = (int32_t)cp_day_of(ms);
}

void row_money(row_chunk *c, idx_t col, bool present, cp_money v)
{
    if (present) { /* DECIMAL(18,2): cents in an int64 */
        duckdb_validity_set_row_valid(c->vec[col].valid, c->rows);
        ((int64_t *)c->vec[col].data)[c->rows] = v;
    } else
        null_at(c, col);
}

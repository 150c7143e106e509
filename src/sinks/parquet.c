/* Parquet exports through DuckDB's COPY: the silver tables Hive-partitioned by
 * day (<dir>/<table>/dt=YYYY-MM-DD/data.parquet) and the gold marts whole
 * (<dir>/gold/<mart>.parquet). Incremental: only the days holding events new to
 * the log since the last export are written again, each file written beside
 * its place and renamed into it, so a reader never sees half a file. The next
 * log offset to export from is kept in <dir>/_cursor, with the files it
 * describes: an emptied directory is exported again in full. */
#include "clickpulse/error.h"
#include "clickpulse/fs.h"
#include "clickpulse/mem.h"
#include "clickpulse/sinks.h"
#include "clickpulse/time.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A silver table and the query of one day's rows ('%s' is the day's date literal). */
typedef struct silver_table {
    const char *name;
    const char *day_sql;
} silver_table;

static const silver_table silver_tables[] = {
    {"events", "SELECT * FROM events WHERE event_date = DATE %s"},
    {"orders", "SELECT * FROM orders WHERE event_date = DATE %s"},
    {"order_items", "SELECT i.* FROM order_items i JOIN orders o USING (\"offset\")"
                    " WHERE o.event_date = DATE %s"},
    {"refunds", "SELECT * FROM refunds WHERE event_date = DATE %s"},
    {"sessions", "SELECT * FROM sessions WHERE start_date = DATE %s"},
};

static int64_t read_cursor(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/_cursor", dir);
    FILE *f = fopen(path, "r");
    long long v = 0;
    if (f && fscanf(f, "%lld", &v) != 1) v = 0;
    if (f) fclose(f);
    return v;
}

static int write_cursor(const char *dir, int64_t next)
{
    char path[4200], line[32];
    snprintf(path, sizeof(path), "%s/_cursor", dir);
    int n = snprintf(line, sizeof(line), "%lld\n", (long long)next);
    return cp_write_file_atomic(path, line, (size_t)n);
}

/* COPY (query) to path, through path.tmp and a rename. */
static int copy_to(cp_store *s, const char *query, const char *path, char *err, size_t errlen)
{
    char tmp[4300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    cp_buf sql;
    cp_buf_init(&sql);
    int rc = cp_buf_appendf(&sql, "COPY (%s) TO ", query);
    if (!rc) rc = cp_buf_append_sql_str(&sql, tmp);
    if (!rc) rc = cp_buf_append_str(&sql, " (FORMAT parquet, COMPRESSION zstd)");
    if (!rc) rc = cp_buf_append_char(&sql, 0);
    if (!rc) rc = cp_store_exec(s, sql.ptr, err, errlen);
    cp_buf_free(&sql);
    if (!rc && rename(tmp, path) != 0) {
        snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
        rc = CP_EIO;
    }
    return rc;
}

typedef struct day_list {
    int32_t *days;
    size_t n, cap;
} day_list;

static int add_day(void *ud, cp_slice key, const double *v, size_t n)
{
    day_list *l = ud;
    (void)key;
    if (!n || isnan(v[0])) return CP_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        int32_t *d = cp_reallocarray(l->days, cap, sizeof(*d));
        if (!d) return CP_ENOMEM;
        l->days = d;
        l->cap = cap;
    }
    l->days[l->n++] = (int32_t)v[0];
    return CP_OK;
}

/* The days to write: those of events at or past the cursor, and the day before each (a
 * session starting then may have grown); all days with full. *next: the new cursor. */
static int changed_days(cp_store *s, int64_t from, day_list *out, int64_t *next, char *err,
                        size_t errlen)
{
    bool null;
    int rc = cp_store_scalar(s, "SELECT max(\"offset\") + 1 FROM events", next, &null);
    if (rc) {
        snprintf(err, errlen, "%s", cp_store_error(s));
        return rc;
    }
    if (null) *next = 0;
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT 'd', d::DOUBLE FROM (SELECT DISTINCT event_date - DATE '1970-01-01' + k AS d"
             " FROM events, (VALUES (0), (-1)) t(k) WHERE \"offset\" >= %lld AND \"offset\" < %lld"
             " AND event_date IS NOT NULL) WHERE d IN (SELECT DISTINCT event_date - DATE"
             " '1970-01-01' FROM events) ORDER BY 2",
             (long long)from, (long long)*next);
    return cp_store_read_numeric(s, sql, NULL, add_day, out, err, errlen);
}

static int export_day(cp_store *s, const char *dir, int32_t day, cp_export_report *r, char *err,
                      size_t errlen)
{
    char date[11] = {0}, lit[16], path[4200], query[512];
    cp_date_format(day, date);
    snprintf(lit, sizeof(lit), "'%s'", date);
    int rc = CP_OK;
    for (size_t t = 0; t < sizeof(silver_tables) / sizeof(silver_tables[0]) && !rc; t++) {
        snprintf(path, sizeof(path), "%s/%s/dt=%s", dir, silver_tables[t].name, date);
        if (cp_mkdirs(path)) {
            snprintf(err, errlen, "cannot create %s", path);
            return CP_EIO;
        }
        snprintf(query, sizeof(query), silver_tables[t].day_sql, lit);
        strncat(path, "/data.parquet", sizeof(path) - strlen(path) - 1);
        rc = copy_to(s, query, path, err, errlen);
        r->files += rc == CP_OK;
    }
    return rc;
}

typedef struct name_list {
    cp_buf names; /* NUL-separated */
    size_t n;
} name_list;

static int add_name(void *ud, const cp_slice *cols, size_t n)
{
    name_list *l = ud;
    if (!n || !cols[0].ptr) return CP_OK;
    l->n++;
    int rc = cp_buf_append(&l->names, cols[0].ptr, cols[0].len);
    return rc ? rc : cp_buf_append_char(&l->names, 0);
}

/* Every gold table or view but the staging and intermediate ones, whole. */
static int export_gold(cp_store *s, const char *dir, cp_export_report *r, char *err, size_t errlen)
{
    name_list l = {.n = 0};
    cp_buf_init(&l.names);
    int rc =
        cp_store_read_rows(s,
                           "SELECT table_name FROM information_schema.tables WHERE"
                           " table_schema = 'gold' AND table_name NOT LIKE 'stg\\_%' ESCAPE '\\'"
                           " AND table_name NOT LIKE 'int\\_%' ESCAPE '\\' ORDER BY 1",
                           add_name, &l, err, errlen);
    char path[4200];
    snprintf(path, sizeof(path), "%s/gold", dir);
    if (!rc && l.n && cp_mkdirs(path)) {
        snprintf(err, errlen, "cannot create %s", path);
        rc = CP_EIO;
    }
    const char *name = l.names.ptr;
    for (size_t i = 0; i < l.n && !rc; i++, name += strlen(name) + 1) {
        cp_buf q;
        cp_buf_init(&q);
        rc = cp_buf_appendf(&q, "SELECT * FROM gold.\"%s\"", name);
        if (!rc) rc = cp_buf_append_char(&q, 0);
        snprintf(path, sizeof(path), "%s/gold/%s.parquet", dir, name);
        if (!rc && !strchr(name, '"')) rc = copy_to(s, q.ptr, path, err, errlen);
        r->files += rc == CP_OK;
        r->marts += rc == CP_OK;
        cp_buf_free(&q);
    }
    cp_buf_free(&l.names);
    return rc;
}

int cp_export_parquet(cp_store *s, const char *dir, bool full, cp_export_report *r, char *err,
                      size_t errlen)
{
    int64_t t0 = cp_mono_ns();
    memset(r, 0, sizeof(*r));
    err[0] = 0;
    if (cp_mkdirs(dir)) {
        snprintf(err, errlen, "cannot create %s", dir);
        return CP_EIO;
    }
    int64_t from = full ? 0 : read_cursor(dir), next = 0;
    day_list days = {0};
    int rc = changed_days(s, from, &days, &next, err, errlen);
    for (size_t i = 0; i < days.n && !rc; i++)
        rc = export_day(s, dir, days.days[i], r, err, errlen);
    r->days = (int64_t)days.n;
    cp_free(days.days);
    if (!rc) rc = export_gold(s, dir, r, err, errlen);
    if (!rc) rc = write_cursor(dir, next);
    if (rc && !err[0]) snprintf(err, errlen, "export: %s", cp_strerror(rc));
    r->next_offset = next;
    r->seconds = (double)(cp_mono_ns() - t0) / 1e9;
    return rc;
}

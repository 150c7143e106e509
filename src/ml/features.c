/* What the models learn from and how they are kept: every customer's features
 * as of a snapshot, computed by DuckDB from the silver tables (recency and
 * tenure from the snapshot's end; orders, revenue, sessions, page views,
 * product views, cart adds and cart abandonment over the lookback days before
 * it), and the stored models — the scaler and the centroids or weights, one
 * value a row in ml_model_values — written and read back. */
#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const ml_feature_names[ML_N_FEATURES] = {
    "recency_days",          "orders",           "revenue",           "avg_order_value",
    "sessions_per_week",     "conversion_rate",  "pages_per_session", "product_views_per_session",
    "cart_adds_per_session", "cart_abandonment", "avg_viewed_price",  "tenure_days"};
const uint8_t ml_feature_log1p[ML_N_FEATURES] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1};
const size_t ml_clustered[ML_N_CLUSTERED] = {ML_RECENCY,    ML_SESSIONS_PER_WEEK,
                                             ML_CONVERSION, ML_PAGES_PER_SESSION,
                                             ML_CART_ADDS,  ML_VIEWED_PRICE};
const size_t ml_all_features[ML_N_FEATURES] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

/* The feature query: %1$s is the snapshot's end and %2$s the lookback's start, both
 * TIMESTAMP literals made here from numbers; $1 (when filtered) a user id. Rates are
 * per session, or per week of the part of the lookback the customer was known (a week
 * at least); a rate without a denominator (no sessions, carts, orders or product views)
 * is NULL — unknown, not zero — and the models read it as the average customer's. Sums
 * are exact (integers, DECIMAL), so that DuckDB's parallel aggregation gives the same
 * features, and a seed the same segments, every time. */
static const char feature_sql[] =
    "WITH cust AS (SELECT user_id, min(first_seen) AS first_seen FROM customers"
    " WHERE user_id IS NOT NULL AND first_seen < %1$s %3$s GROUP BY 1),"
    " ev AS (SELECT user_id, max(event_time) AS last_seen,"
    "  count(*) FILTER (kind = 'product_viewed' AND event_time >= %2$s) AS product_views,"
    "  avg(TRY_CAST(json_extract_string(properties, '$.price') AS DECIMAL(18,4)))"
    "   FILTER (kind = 'product_viewed' AND event_time >= %2$s) AS viewed_price,"
    "  count(*) FILTER (kind = 'product_added' AND event_time >= %2$s) AS cart_adds"
    "  FROM events WHERE user_id IS NOT NULL AND event_time < %1$s AND NOT coalesce(is_bot, false)"
    "  GROUP BY 1),"
    " o AS (SELECT user_id, count(*) AS orders, sum(revenue)::DOUBLE AS revenue FROM orders"
    "  WHERE user_id IS NOT NULL AND event_time >= %2$s AND event_time < %1$s GROUP BY 1),"
    " s AS (SELECT user_id, count(*) AS sessions, sum(pageviews) AS pageviews,"
    "  count(*) FILTER (cart) AS carts, count(*) FILTER (cart AND NOT purchase) AS abandoned"
    "  FROM sessions WHERE user_id IS NOT NULL AND NOT is_bot AND start_time >= %2$s"
    "  AND start_time < %1$s GROUP BY 1)%4$s"
    " SELECT c.user_id,"
    " (epoch(%1$s) - epoch(coalesce(ev.last_seen, c.first_seen))) / 86400.0,"
    " coalesce(o.orders, 0)::DOUBLE, coalesce(o.revenue, 0)::DOUBLE,"
    " (o.revenue / o.orders)::DOUBLE,"
    " coalesce(s.sessions, 0) * 7.0 / greatest(7.0, least(epoch(%1$s) - epoch(%2$s),"
    "  epoch(%1$s) - epoch(c.first_seen)) / 86400.0),"
    " (coalesce(o.orders, 0) / s.sessions)::DOUBLE,"
    " (s.pageviews / s.sessions)::DOUBLE,"
    " (coalesce(ev.product_views, 0) / s.sessions)::DOUBLE,"
    " (coalesce(ev.cart_adds, 0) / s.sessions)::DOUBLE, (s.abandoned / nullif(s.carts, 0))::DOUBLE,"
    " ev.viewed_price::DOUBLE,"
    " (epoch(%1$s) - epoch(c.first_seen)) / 86400.0 %5$s"
    " FROM cust c LEFT JOIN ev USING (user_id) LEFT JOIN o USING (user_id)"
    " LEFT JOIN s USING (user_id) %6$s ORDER BY c.user_id";

static void day_literal(int64_t day, char *out)
{
    char d[11] = {0};
    cp_date_format(day, d);
    snprintf(out, 32, "TIMESTAMP '%s'", d);
}

static int add_row(void *ud, cp_slice key, const double *v, size_t n)
{
    ml_table *t = ud;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        double *x = cp_reallocarray(t->x, cap, ML_N_FEATURES * sizeof(double));
        if (x) t->x = x;
        uint8_t *label = cp_realloc(t->label, cap);
        if (label) t->label = label;
        size_t *end = cp_reallocarray(t->id_end, cap, sizeof(size_t));
        if (end) t->id_end = end;
        if (!x || !label || !end) return CP_ENOMEM;
        t->cap = cap;
    }
    for (size_t f = 0; f < ML_N_FEATURES; f++) {
        double val = v[f];
        t->x[t->n * ML_N_FEATURES + f] = isfinite(val) ? val : NAN; /* NaN: unknown */
    }
    t->label[t->n] = n > ML_N_FEATURES && v[ML_N_FEATURES] > 0.5;
    if (cp_buf_append(&t->ids, key.ptr, key.len)) return CP_ENOMEM;
    t->id_end[t->n++] = t->ids.len;
    return CP_OK;
}

int ml_load_features(cp_store *s, int32_t snapshot, int lookback, int label_days, const char *user,
                     ml_table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    cp_buf_init(&t->ids);
    char c[32], w[32], l[32], next[256] = "", label[64] = "", join[64] = "";
    day_literal((int64_t)snapshot + 1, c);
    day_literal((int64_t)snapshot + 1 - lookback, w);
    if (label_days > 0) {
        day_literal((int64_t)snapshot + 1 + label_days, l);
        snprintf(next, sizeof(next),
                 ", nxt AS (SELECT DISTINCT user_id FROM events WHERE user_id IS NOT NULL"
                 " AND event_time >= %s AND event_time < %s)",
                 c, l);
        snprintf(label, sizeof(label), ", (nxt.user_id IS NULL)::DOUBLE");
        snprintf(join, sizeof(join), "LEFT JOIN nxt USING (user_id)");
    }
    cp_buf sql;
    cp_buf_init(&sql);
    int rc =
        cp_buf_appendf(&sql, feature_sql, c, w, user ? "AND user_id = $1" : "", next, label, join);
    if (!rc) rc = cp_buf_append_char(&sql, 0);
    if (!rc) rc = cp_store_read_numeric(s, sql.ptr, user, add_row, t, err, errlen);
    if (rc == CP_ENOMEM) snprintf(err, errlen, "out of memory loading features");
    cp_buf_free(&sql);
    if (rc) ml_table_free(t);
    return rc;
}

cp_slice ml_table_id(const ml_table *t, size_t i)
{
    size_t start = i ? t->id_end[i - 1] : 0;
    return (cp_slice){t->ids.ptr + start, t->id_end[i] - start};
}

void ml_table_free(ml_table *t)
{
    cp_free(t->x);
    cp_free(t->label);
    cp_free(t->id_end);
    cp_buf_free(&t->ids);
    memset(t, 0, sizeof(*t));
}

typedef struct one_value {
    double v;
    int seen;
} one_value;

static int take_first(void *ud, cp_slice key, const double *v, size_t n)
{
    one_value *o = ud;
    (void)key;
    if (n && !o->seen) {
        o->v = v[0];
        o->seen = 1;
    }
    return CP_OK;
}

int ml_resolve_snapshot(cp_store *s, int32_t want, int32_t *out, char *err, size_t errlen)
{
    if (want != INT32_MIN) {
        *out = want;
        return CP_OK;
    }
    one_value o = {0, 0};
    int rc = cp_store_read_numeric(
        s, "SELECT 'x', (max(event_date) - DATE '1970-01-01')::DOUBLE FROM events", NULL,
        take_first, &o, err, errlen);
    if (rc) return rc;
    if (!o.seen || isnan(o.v)) {
        snprintf(err, errlen, "there are no events yet");
        return CP_ENOENT;
    }
    *out = (int32_t)o.v;
    return CP_OK;
}

int ml_model_snapshot(cp_store *s, const char *kind, int32_t day, int at_or_before, int32_t *out,
                      char *err, size_t errlen)
{
    char sql[256], d[11] = {0};
    cp_date_format(day, d);
    snprintf(sql, sizeof(sql),
             "SELECT 'x', (max(snapshot) - DATE '1970-01-01')::DOUBLE FROM ml_models"
             " WHERE kind = $1 AND snapshot %s DATE '%s'",
             at_or_before ? "<=" : "<", d);
    one_value o = {0, 0};
    int rc = cp_store_read_numeric(s, sql, kind, take_first, &o, err, errlen);
    if (rc) return rc;
    if (!o.seen || isnan(o.v)) return CP_ENOENT;
    *out = (int32_t)o.v;
    return CP_OK;
}

double *ml_columns(const ml_table *t, const size_t *idx, size_t d)
{
    double *x = cp_reallocarray(NULL, t->n ? t->n : 1, d * sizeof(double));
    if (!x) return NULL;
    for (size_t i = 0; i < t->n; i++)
        for (size_t f = 0; f < d; f++) x[i * d + f] = t->x[i * ML_N_FEATURES + idx[f]];
    return x;
}

typedef struct model_rows {
    ml_model *m;
    int cap;
    size_t d, width;
} model_rows;

static int put_value(void *ud, cp_slice part, const double *v, size_t n)
{
    model_rows *mr = ud;
    ml_model *m = mr->m;
    int idx = (int)v[0], f = (int)v[1];
    if (n < 3 || f < 0 || (size_t)f >= mr->width || idx < 0 || idx > 4096) return CP_ECORRUPT;
    if (cp_slice_eq_lit(part, "lookback")) {
        m->lookback = (int)v[2];
        return CP_OK;
    }
    if (cp_slice_eq_lit(part, "mean") || cp_slice_eq_lit(part, "sd") ||
        cp_slice_eq_lit(part, "log1p")) {
        if ((size_t)f >= mr->d) return CP_ECORRUPT;
        double *dst = part.ptr[0] == 'm' ? m->sc.mean : part.ptr[0] == 's' ? m->sc.sd : NULL;
        if (dst)
            dst[f] = v[2];
        else
            m->sc.log1p[f] = v[2] > 0.5;
        return CP_OK;
    }
    if (idx >= mr->cap) {
        int cap = idx + 8;
        double *rows = cp_reallocarray(m->rows, (size_t)cap, mr->width * sizeof(double));
        if (!rows) return CP_ENOMEM;
        memset(rows + (size_t)mr->cap * mr->width, 0,
               (size_t)(cap - mr->cap) * mr->width * sizeof(double));
        m->rows = rows;
        mr->cap = cap;
    }
    m->rows[(size_t)idx * mr->width + (size_t)f] = v[2];
    if (idx + 1 > m->n_rows) m->n_rows = idx + 1;
    return CP_OK;
}

int ml_model_load(cp_store *s, const char *kind, int32_t snapshot, size_t d, ml_model *m, char *err,
                  size_t errlen)
{
    memset(m, 0, sizeof(*m));
    double ones[ML_N_FEATURES] = {0};
    int rc = cp_scaler_fit(&m->sc, ones, 1, d, NULL); /* allocates; values replaced */
    if (rc) return rc;
    char sql[256], day[11] = {0};
    cp_date_format(snapshot, day);
    snprintf(sql, sizeof(sql),
             "SELECT part, idx::DOUBLE, feature_idx::DOUBLE, value FROM ml_model_values"
             " WHERE kind = $1 AND snapshot = DATE '%s'",
             day);
    model_rows mr = {m, 0, d, strcmp(kind, "churn") ? d : d + 1};
    m->lookback = 90;
    rc = cp_store_read_numeric(s, sql, kind, put_value, &mr, err, errlen);
    if (rc == CP_OK && !m->n_rows) rc = CP_ENOENT;
    if (rc) {
        if (rc != CP_EDB)
            snprintf(err, errlen, "the %s model of %s: %s", kind, day, cp_strerror(rc));
        ml_model_free(m);
    }
    return rc;
}

void ml_model_free(ml_model *m)
{
    cp_free(m->rows);
    cp_scaler_free(&m->sc);
    memset(m, 0, sizeof(*m));
}

static int store_value(cp_store_appender *a, const char *kind, int32_t snapshot, const char *part,
                       int idx, size_t pos, const char *name, double v)
{
    cp_store_append_date(a, snapshot);
    cp_store_append_text(a, cp_slice_from(kind));
    cp_store_append_text(a, cp_slice_from(part));
    cp_store_append_int(a, idx);
    cp_store_append_int(a, (int64_t)pos);
    cp_store_append_text(a, cp_slice_from(name));
    cp_store_append_double(a, v);
    return cp_store_append_end(a);
}

static int store_values(cp_store_appender *a, const char *kind, int32_t snapshot, const size_t *idx,
                        const ml_model *m, const char *part, size_t width)
{
    const cp_scaler *sc = &m->sc;
    int rc = store_value(a, kind, snapshot, "lookback", 0, 0, "", m->lookback);
    for (size_t f = 0; rc == CP_OK && f < sc->d; f++) {
        const char *name = ml_feature_names[idx[f]];
        rc = store_value(a, kind, snapshot, "mean", 0, f, name, sc->mean[f]);
        if (!rc) rc = store_value(a, kind, snapshot, "sd", 0, f, name, sc->sd[f]);
        if (!rc) rc = store_value(a, kind, snapshot, "log1p", 0, f, name, sc->log1p[f]);
    }
    for (int r = 0; rc == CP_OK && r < m->n_rows; r++)
        for (size_t f = 0; rc == CP_OK && f < width; f++)
            rc = store_value(a, kind, snapshot, part, r, f,
                             f < sc->d ? ml_feature_names[idx[f]] : "intercept",
                             m->rows[(size_t)r * width + f]);
    return rc;
}

int ml_model_store(cp_store *s, const char *kind, int32_t snapshot, const size_t *idx,
                   const ml_model *m, const char *part, size_t width, const char *params)
{
    cp_store_appender *a = NULL;
    int rc = cp_store_appender_open(s, "ml_model_values", &a);
    if (rc) return rc;
    rc = store_values(a, kind, snapshot, idx, m, part, width);
    int crc = cp_store_appender_close(a);
    if (rc || crc) return rc ? rc : crc;
    rc = cp_store_appender_open(s, "ml_models", &a);
    if (rc) return rc;
    cp_buf names;
    cp_buf_init(&names);
    cp_buf_append_char(&names, '[');
    for (size_t f = 0; f < m->sc.d; f++)
        cp_buf_appendf(&names, "%s\"%s\"", f ? "," : "", ml_feature_names[idx[f]]);
    cp_buf_append_char(&names, ']');
    cp_store_append_date(a, snapshot);
    cp_store_append_text(a, cp_slice_from(kind));
    cp_store_append_time(a, cp_now_ms());
    cp_store_append_int(a, m->n_rows);
    cp_store_append_text(a, (cp_slice){names.ptr, names.len});
    cp_store_append_text(a, cp_slice_from(params));
    rc = cp_store_append_end(a);
    crc = cp_store_appender_close(a);
    cp_buf_free(&names);
    return rc ? rc : crc;
}

int cp_ml_features_csv(cp_store *s, const cp_ml_options *o, FILE *out, char *err, size_t errlen)
{
    int32_t day;
    ml_table t;
    int rc = ml_resolve_snapshot(s, o->snapshot, &day, err, errlen);
    if (!rc) rc = ml_load_features(s, day, o->lookback_days, 0, NULL, &t, err, errlen);
    if (rc) return rc;
    fputs("user_id", out);
    for (size_t f = 0; f < ML_N_FEATURES; f++) fprintf(out, ",%s", ml_feature_names[f]);
    fputc('\n', out);
    for (size_t i = 0; i < t.n; i++) {
        cp_slice id = ml_table_id(&t, i);
        fprintf(out, "%.*s", (int)id.len, id.ptr);
        for (size_t f = 0; f < ML_N_FEATURES; f++) {
            double v = t.x[i * ML_N_FEATURES + f];
            if (isnan(v))
                fputc(',', out);
            else
                fprintf(out, ",%.6g", v);
        }
        fputc('\n', out);
    }
    ml_table_free(&t);
    return CP_OK;
}

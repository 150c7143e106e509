/* Customer segments for a snapshot: features from the store, scaled, K-Means
 * (k given or chosen by silhouette), cluster ids carried over from the
 * previous snapshot's model by matching centroids (so a segment keeps its id
 * and the movement between snapshots means something), readable labels from
 * each cluster's profile, and every output written in one transaction that
 * replaces the snapshot's earlier run. Also places one customer into the
 * stored model's segments. */
#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void cp_ml_options_default(cp_ml_options *o)
{
    *o = (cp_ml_options){.snapshot = INT32_MIN,
                         .k = 0,
                         .k_max = 10,
                         .n_init = 4,
                         .max_iter = 100,
                         .seed = 42,
                         .lookback_days = 90,
                         .churn_days = 30,
                         .l2 = 1e-3};
}

/* A readable name from a cluster's mean standardised profile over every feature (0 is
 * the average customer). */
static const char *label_for(const double *z)
{
    if (z[ML_RECENCY] >= 1.0) return "lapsed";
    if (z[ML_RECENCY] >= 0.5) return "at risk";
    if (z[ML_REVENUE] >= 0.75 && z[ML_VIEWED_PRICE] >= 0.5) return "high-value loyal";
    if (z[ML_VIEWED_PRICE] <= -0.75) return "bargain hunters";
    if (z[ML_CONVERSION] <= -0.5 && z[ML_CART_ADDS] < 0) return "window shoppers";
    if (z[ML_TENURE] <= -0.75) return "new customers";
    if (z[ML_ORDERS] >= 0) return "regular buyers";
    return "occasional visitors";
}

/* Labels, unique within the snapshot: a repeated one gets " 2", " 3", … by cluster order.
 * z holds each cluster's mean profile (k × ML_N_FEATURES). */
static void make_labels(int k, const double *z, char (*labels)[48])
{
    for (int j = 0; j < k; j++) {
        const char *base = label_for(z + (size_t)j * ML_N_FEATURES);
        size_t len = strlen(base);
        int same = 0;
        for (int q = 0; q < j; q++)
            if (!strncmp(labels[q], base, len) && (labels[q][len] == 0 || labels[q][len] == ' '))
                same++;
        if (same)
            snprintf(labels[j], 48, "%s %d", base, same + 1);
        else
            snprintf(labels[j], 48, "%s", base);
    }
}

/* perm[j]: the id new cluster j takes. Pairs of (new, previous) centroids are matched
 * greedily by distance, compared in the new snapshot's scale; unmatched clusters take the
 * lowest free ids. */
static void match_previous(const cp_kmeans *m, const cp_scaler *now, const cp_scaler *prev_sc,
                           double *prev, int prev_k, int *perm)
{
    int k = m->k, used_new[64] = {0}, used_id[64] = {0};
    size_t d = m->d;
    for (int p = 0; p < prev_k; p++) { /* previous centroids into the new scale */
        cp_scaler_invert(prev_sc, prev + (size_t)p * d);
        cp_scaler_apply(now, prev + (size_t)p * d, 1);
    }
    for (int j = 0; j < k; j++) perm[j] = -1;
    for (int round = 0; round < k && round < prev_k; round++) {
        double best = DBL_MAX;
        int bj = -1, bp = -1;
        for (int j = 0; j < k; j++)
            for (int p = 0; p < prev_k && p < k && !used_new[j]; p++) {
                if (used_id[p]) continue;
                double dist = ml_dist2(m->centroids + (size_t)j * d, prev + (size_t)p * d, d);
                if (dist < best) best = dist, bj = j, bp = p;
            }
        if (bj < 0) break;
        perm[bj] = bp;
        used_new[bj] = used_id[bp] = 1;
    }
    for (int j = 0, next = 0; j < k; j++) {
        if (perm[j] >= 0) continue;
        while (used_id[next]) next++;
        perm[j] = next;
        used_id[next] = 1;
    }
}

/* Renumbers the model's clusters and the rows' labels by perm. */
static int apply_perm(cp_kmeans *m, int32_t *labels, size_t n, const int *perm)
{
    double *c = cp_reallocarray(NULL, (size_t)m->k, m->d * sizeof(double));
    int64_t *sizes = cp_calloc((size_t)m->k, sizeof(int64_t));
    if (!c || !sizes) {
        cp_free(c);
        cp_free(sizes);
        return CP_ENOMEM;
    }
    for (int j = 0; j < m->k; j++) {
        memcpy(c + (size_t)perm[j] * m->d, m->centroids + (size_t)j * m->d, m->d * sizeof(double));
        sizes[perm[j]] = m->sizes[j];
    }
    for (size_t i = 0; i < n; i++) labels[i] = perm[labels[i]];
    cp_free(m->centroids);
    cp_free(m->sizes);
    m->centroids = c;
    m->sizes = sizes;
    return CP_OK;
}

typedef struct seg_run {
    const cp_ml_options *o;
    cp_ml_report *r;
    ml_table t;   /* every feature, unscaled */
    double *x;    /* the clustered features, scaled */
    cp_scaler sc; /* of x */
    cp_kmeans m;
    int32_t *labels;
    char (*names)[48];
} seg_run;

static void silhouette_of(seg_run *g)
{
    size_t n = g->t.n, sil = n < 2000 ? n : 2000, d = ML_N_CLUSTERED;
    size_t *idx = ml_sample(n, sil, g->o->seed ^ 0xA11CE);
    double *xs = cp_reallocarray(NULL, sil ? sil : 1, d * sizeof(double));
    int32_t *ls = cp_reallocarray(NULL, sil ? sil : 1, sizeof(int32_t));
    if (idx && xs && ls) {
        for (size_t i = 0; i < sil; i++) {
            memcpy(xs + i * d, g->x + idx[i] * d, d * sizeof(double));
            ls[i] = g->labels[idx[i]];
        }
        g->r->silhouette = cp_silhouette(xs, sil, d, ls, g->m.k);
    }
    cp_free(idx);
    cp_free(xs);
    cp_free(ls);
}

static int fit(seg_run *g, char *err, size_t errlen)
{
    size_t n = g->t.n, d = ML_N_CLUSTERED;
    uint8_t logs[ML_N_CLUSTERED];
    for (size_t f = 0; f < d; f++) logs[f] = ml_feature_log1p[ml_clustered[f]];
    g->x = ml_columns(&g->t, ml_clustered, d);
    if (!g->x) return CP_ENOMEM;
    int rc = cp_scaler_fit(&g->sc, g->x, n, d, logs);
    if (rc) return rc;
    cp_scaler_apply(&g->sc, g->x, n);
    cp_kmeans_params p = {g->o->k, g->o->n_init, g->o->max_iter, g->o->seed};
    if (p.k <= 0) {
        int k_max = g->o->k_max > 2 ? g->o->k_max : 2;
        p.k = n < 3 ? 1 : cp_kmeans_choose_k(g->x, n, d, 2, k_max, 20000, &p, NULL);
        if (p.k < 0) return p.k;
    }
    if (p.k > 64) {
        snprintf(err, errlen, "k is at most 64");
        return CP_EINVAL;
    }
    g->labels = cp_reallocarray(NULL, n, sizeof(int32_t));
    if (!g->labels) return CP_ENOMEM;
    rc = cp_kmeans_fit(g->x, n, d, &p, &g->m, g->labels);
    if (rc) return rc;
    silhouette_of(g);
    g->r->k = g->m.k;
    g->r->inertia = g->m.inertia;
    g->r->iterations = g->m.iterations;
    return CP_OK;
}

/* Carries the previous snapshot's cluster ids over, when there is a previous model. */
static int align(seg_run *g, cp_store *s, char *err, size_t errlen)
{
    int32_t prev;
    g->r->previous = INT32_MIN;
    int rc = ml_model_snapshot(s, "kmeans", g->r->snapshot, 0, &prev, err, errlen);
    if (rc == CP_ENOENT) return CP_OK;
    if (rc) return rc;
    ml_model pm;
    rc = ml_model_load(s, "kmeans", prev, ML_N_CLUSTERED, &pm, err, errlen);
    if (rc) return rc;
    int perm[64];
    match_previous(&g->m, &g->sc, &pm.sc, pm.rows, pm.n_rows, perm);
    rc = apply_perm(&g->m, g->labels, g->t.n, perm);
    ml_model_free(&pm);
    g->r->previous = prev;
    return rc;
}

/* Each cluster's mean standardised profile over every feature, then its label. */
static int name_clusters(seg_run *g)
{
    int k = g->m.k;
    cp_scaler full;
    double *z = ml_columns(&g->t, ml_all_features, ML_N_FEATURES);
    double *mean = cp_calloc((size_t)k * ML_N_FEATURES, sizeof(double));
    g->names = cp_calloc((size_t)k, sizeof(*g->names));
    int rc = z && mean && g->names ? CP_OK : CP_ENOMEM;
    if (!rc) rc = cp_scaler_fit(&full, z, g->t.n, ML_N_FEATURES, ml_feature_log1p);
    if (!rc) {
        cp_scaler_apply(&full, z, g->t.n);
        for (size_t i = 0; i < g->t.n; i++)
            for (size_t f = 0; f < ML_N_FEATURES; f++)
                mean[(size_t)g->labels[i] * ML_N_FEATURES + f] += z[i * ML_N_FEATURES + f];
        for (int j = 0; j < k; j++)
            for (size_t f = 0; f < ML_N_FEATURES && g->m.sizes[j]; f++)
                mean[(size_t)j * ML_N_FEATURES + f] /= (double)g->m.sizes[j];
        make_labels(k, mean, g->names);
        cp_scaler_free(&full);
    }
    cp_free(z);
    cp_free(mean);
    return rc;
}

static int write_segments(seg_run *g, cp_store *s)
{
    size_t d = ML_N_CLUSTERED;
    cp_store_appender *a = NULL;
    int rc = cp_store_appender_open(s, "customer_segments", &a);
    for (size_t i = 0; rc == CP_OK && i < g->t.n; i++) {
        int c = g->labels[i];
        cp_store_append_date(a, g->r->snapshot);
        cp_store_append_text(a, ml_table_id(&g->t, i));
        cp_store_append_int(a, c);
        cp_store_append_text(a, cp_slice_from(g->names[c]));
        cp_store_append_double(a, sqrt(ml_dist2(g->x + i * d, g->m.centroids + (size_t)c * d, d)));
        rc = cp_store_append_end(a);
    }
    int crc = cp_store_appender_close(a);
    return rc ? rc : crc;
}

static int write_profiles(seg_run *g, cp_store *s)
{
    int k = g->m.k;
    double *sum = cp_calloc((size_t)k * ML_N_FEATURES * 2, sizeof(double));
    if (!sum) return CP_ENOMEM;
    double *known = sum + (size_t)k * ML_N_FEATURES; /* the mean of known values only */
    for (size_t i = 0; i < g->t.n; i++)
        for (size_t f = 0; f < ML_N_FEATURES; f++) {
            double v = g->t.x[i * ML_N_FEATURES + f];
            if (isnan(v)) continue;
            sum[(size_t)g->labels[i] * ML_N_FEATURES + f] += v;
            known[(size_t)g->labels[i] * ML_N_FEATURES + f]++;
        }
    cp_store_appender *a = NULL;
    int rc = cp_store_appender_open(s, "cluster_profiles", &a);
    for (int j = 0; rc == CP_OK && j < k; j++) {
        double size = (double)g->m.sizes[j];
        cp_store_append_date(a, g->r->snapshot);
        cp_store_append_int(a, j);
        cp_store_append_text(a, cp_slice_from(g->names[j]));
        cp_store_append_int(a, g->m.sizes[j]);
        cp_store_append_double(a, size / (double)g->t.n);
        for (size_t f = 0; f < ML_N_FEATURES; f++) {
            size_t at = (size_t)j * ML_N_FEATURES + f;
            cp_store_append_double(a, known[at] > 0 ? sum[at] / known[at] : NAN);
        }
        rc = cp_store_append_end(a);
    }
    int crc = cp_store_appender_close(a);
    cp_free(sum);
    return rc ? rc : crc;
}

/* The transitions from the previous snapshot, by SQL over customer_segments; 'new' for
 * customers the previous snapshot did not have. */
static int write_transitions(seg_run *g, cp_store *s, char *err, size_t errlen)
{
    if (g->r->previous == INT32_MIN) return CP_OK;
    char now[11] = {0}, prev[11] = {0}, sql[1024];
    cp_date_format(g->r->snapshot, now);
    cp_date_format(g->r->previous, prev);
    snprintf(sql, sizeof(sql),
             "INSERT INTO cluster_transitions SELECT DATE '%2$s', DATE '%1$s', p.cluster,"
             " coalesce(p.label, 'new'), c.cluster, c.label, count(*)"
             " FROM customer_segments c LEFT JOIN customer_segments p"
             " ON p.user_id = c.user_id AND p.snapshot = DATE '%2$s'"
             " WHERE c.snapshot = DATE '%1$s' GROUP BY ALL",
             now, prev);
    int rc = cp_store_exec(s, sql, err, errlen);
    if (rc) return rc;
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(sum(customers), 0) FROM cluster_transitions WHERE to_snapshot ="
             " DATE '%s' AND from_cluster IS NOT NULL AND from_cluster <> to_cluster",
             now);
    bool null;
    return cp_store_scalar(s, sql, &g->r->moved, &null);
}

int ml_write_run(cp_store *s, const char *kind, const cp_ml_report *r, int64_t started,
                 const char *params)
{
    cp_store_appender *a = NULL;
    int rc = cp_store_appender_open(s, "ml_runs", &a);
    if (rc) return rc;
    cp_store_append_text(a, cp_slice_from(kind));
    cp_store_append_date(a, r->snapshot);
    cp_store_append_time(a, started);
    cp_store_append_time(a, cp_now_ms());
    cp_store_append_int(a, r->customers);
    cp_store_append_int(a, r->k);
    cp_store_append_int(a, r->iterations);
    cp_store_append_double(a, r->inertia);
    cp_store_append_double(a, r->silhouette);
    cp_store_append_double(a, r->auc);
    cp_store_append_int(a, r->train_rows);
    cp_store_append_int(a, r->churned);
    cp_store_append_int(a, r->moved);
    cp_store_append_text(a, cp_slice_from(params));
    rc = cp_store_append_end(a);
    int crc = cp_store_appender_close(a);
    return rc ? rc : crc;
}

static int write_all(seg_run *g, cp_store *s, int64_t started, char *err, size_t errlen)
{
    char d[11] = {0}, sql[512], params[256];
    cp_date_format(g->r->snapshot, d);
    snprintf(sql, sizeof(sql),
             "BEGIN TRANSACTION; DELETE FROM customer_segments WHERE snapshot = DATE '%1$s';"
             " DELETE FROM cluster_profiles WHERE snapshot = DATE '%1$s';"
             " DELETE FROM cluster_transitions WHERE to_snapshot = DATE '%1$s';"
             " DELETE FROM ml_models WHERE kind = 'kmeans' AND snapshot = DATE '%1$s';"
             " DELETE FROM ml_model_values WHERE kind = 'kmeans' AND snapshot = DATE '%1$s';",
             d);
    snprintf(params, sizeof(params),
             "{\"k\":%d,\"k_requested\":%d,\"n_init\":%d,\"max_iter\":%d,\"seed\":%llu,"
             "\"lookback_days\":%d}",
             g->m.k, g->o->k, g->o->n_init, g->o->max_iter, (unsigned long long)g->o->seed,
             g->o->lookback_days);
    int rc = cp_store_exec(s, sql, err, errlen);
    if (rc) return rc;
    ml_model model = {g->sc, g->m.centroids, g->m.k, g->o->lookback_days};
    rc = write_segments(g, s);
    if (!rc) rc = write_profiles(g, s);
    if (!rc) rc = write_transitions(g, s, err, errlen);
    if (!rc)
        rc = ml_model_store(s, "kmeans", g->r->snapshot, ml_clustered, &model, "centroid",
                            ML_N_CLUSTERED, params);
    if (!rc) rc = ml_write_run(s, "kmeans", g->r, started, params);
    if (!rc) rc = cp_store_exec(s, "COMMIT", err, errlen);
    if (rc) {
        if (!err[0]) snprintf(err, errlen, "%s", cp_store_error(s));
        cp_store_exec(s, "ROLLBACK", NULL, 0);
    }
    return rc;
}

int cp_ml_segment(cp_store *s, const cp_ml_options *o, cp_ml_report *r, char *err, size_t errlen)
{
    int64_t started = cp_now_ms(), t0 = cp_mono_ns();
    memset(r, 0, sizeof(*r));
    r->auc = NAN;
    err[0] = 0;
    seg_run g = {.o = o, .r = r};
    int rc = ml_resolve_snapshot(s, o->snapshot, &r->snapshot, err, errlen);
    if (!rc) rc = ml_load_features(s, r->snapshot, o->lookback_days, 0, NULL, &g.t, err, errlen);
    if (!rc && !g.t.n) {
        char d[11] = {0};
        cp_date_format(r->snapshot, d);
        snprintf(err, errlen, "no customers were seen by %s", d);
        rc = CP_ENOENT;
    }
    r->customers = (int64_t)g.t.n;
    if (!rc) rc = fit(&g, err, errlen);
    if (!rc) rc = align(&g, s, err, errlen);
    if (!rc) rc = name_clusters(&g);
    if (!rc) rc = write_all(&g, s, started, err, errlen);
    if (rc && !err[0]) snprintf(err, errlen, "segment: %s", cp_strerror(rc));
    r->seconds = (double)(cp_mono_ns() - t0) / 1e9;
    ml_table_free(&g.t);
    cp_free(g.x);
    cp_free(g.labels);
    cp_free(g.names);
    cp_scaler_free(&g.sc);
    cp_kmeans_free(&g.m);
    return rc;
}

typedef struct text_out {
    char *out;
    size_t len;
} text_out;

static int copy_text(void *ud, const cp_slice *cols, size_t n)
{
    text_out *t = ud;
    if (n && cols[0].ptr) snprintf(t->out, t->len, "%.*s", (int)cols[0].len, cols[0].ptr);
    return CP_OK;
}

static void read_label(cp_store *s, const char *sql, char *label, size_t labellen)
{
    char err[256];
    text_out t = {label, labellen};
    cp_store_read_rows(s, sql, copy_text, &t, err, sizeof(err));
}

int cp_ml_place(cp_store *s, const char *user_id, int32_t snapshot, int *cluster, char *label,
                size_t labellen, char *err, size_t errlen)
{
    int32_t at, day = snapshot;
    err[0] = 0;
    int rc = ml_resolve_snapshot(s, snapshot, &day, err, errlen);
    if (rc) return rc;
    rc = ml_model_snapshot(s, "kmeans", day, 1, &at, err, errlen);
    if (rc == CP_ENOENT) snprintf(err, errlen, "no segment model yet: run 'clickpulse segment'");
    if (rc) return rc;
    ml_model model;
    rc = ml_model_load(s, "kmeans", at, ML_N_CLUSTERED, &model, err, errlen);
    if (rc) return rc;
    ml_table t;
    rc = ml_load_features(s, day, model.lookback, 0, user_id, &t, err, errlen);
    if (rc == CP_OK && !t.n) {
        snprintf(err, errlen, "no customer %s by then", user_id);
        rc = CP_ENOENT;
    }
    double *x = rc ? NULL : ml_columns(&t, ml_clustered, ML_N_CLUSTERED);
    if (rc == CP_OK && !x) rc = CP_ENOMEM;
    if (rc == CP_OK) {
        cp_scaler_apply(&model.sc, x, 1);
        cp_kmeans m = {.k = model.n_rows, .d = ML_N_CLUSTERED, .centroids = model.rows};
        *cluster = cp_kmeans_predict(&m, x, NULL);
        char d[11] = {0}, sql[256];
        cp_date_format(at, d);
        snprintf(sql, sizeof(sql),
                 "SELECT label FROM cluster_profiles WHERE snapshot = DATE '%s' AND cluster = %d",
                 d, *cluster);
        snprintf(label, labellen, "cluster %d", *cluster);
        read_label(s, sql, label, labellen);
    }
    cp_free(x);
    ml_model_free(&model);
    ml_table_free(&t);
    return rc;
}

/* Churn risk: logistic regression on the customer features. The label of a
 * customer as of a day is "no activity in the churn_days after it"; the model
 * learns from the day churn_days before the snapshot (whose outcome is known
 * by the snapshot), is measured by its AUC on a held-out fifth of those
 * customers (chosen by a hash of the id, so the split is stable), and then
 * scores every customer's features as of the snapshot: the probability that
 * they show no activity in the next churn_days. */
#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/time.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

static int held_out(cp_slice id)
{
    return XXH3_64bits(id.ptr, id.len) % 5 == 0;
}

/* Splits t (scaled) into training rows and held-out rows. */
static int split(const ml_table *t, double **xs, uint8_t **ys, size_t *n_train, double **xh,
                 uint8_t **yh, size_t *n_held)
{
    *xs = cp_reallocarray(NULL, t->n, ML_N_FEATURES * sizeof(double));
    *xh = cp_reallocarray(NULL, t->n, ML_N_FEATURES * sizeof(double));
    *ys = cp_malloc(t->n);
    *yh = cp_malloc(t->n);
    if (!*xs || !*xh || !*ys || !*yh) return CP_ENOMEM;
    *n_train = *n_held = 0;
    for (size_t i = 0; i < t->n; i++) {
        int h = held_out(ml_table_id(t, i));
        size_t *n = h ? n_held : n_train;
        memcpy((h ? *xh : *xs) + *n * ML_N_FEATURES, t->x + i * ML_N_FEATURES,
               ML_N_FEATURES * sizeof(double));
        (h ? *yh : *ys)[(*n)++] = t->label[i];
    }
    return CP_OK;
}

/* Fits the model on the training day's customers; the AUC of the held-out fifth into r. */
static int train(cp_store *s, const cp_ml_options *o, cp_ml_report *r, cp_scaler *sc, cp_logreg *m,
                 char *err, size_t errlen)
{
    ml_table t;
    int32_t day = r->snapshot - o->churn_days;
    int rc = ml_load_features(s, day, o->lookback_days, o->churn_days, NULL, &t, err, errlen);
    if (rc) return rc;
    for (size_t i = 0; i < t.n; i++) r->churned += t.label[i];
    r->train_rows = (int64_t)t.n;
    if (t.n < 10 || !r->churned || r->churned == (int64_t)t.n) {
        char d[11] = {0};
        cp_date_format(day, d);
        snprintf(err, errlen,
                 "not enough history to learn churn: %zu customers by %s, %lld of them churned "
                 "(both outcomes are needed)",
                 t.n, d, (long long)r->churned);
        ml_table_free(&t);
        return CP_ENOENT;
    }
    double *xs = NULL, *xh = NULL;
    uint8_t *ys = NULL, *yh = NULL;
    size_t n_train, n_held;
    rc = cp_scaler_fit(sc, t.x, t.n, ML_N_FEATURES, ml_feature_log1p);
    if (!rc) {
        cp_scaler_apply(sc, t.x, t.n);
        rc = split(&t, &xs, &ys, &n_train, &xh, &yh, &n_held);
    }
    if (!rc) rc = cp_logreg_fit(xs, ys, n_train, ML_N_FEATURES, o->l2, m);
    if (!rc) {
        double *p = cp_reallocarray(NULL, n_held ? n_held : 1, sizeof(double));
        if (!p) rc = CP_ENOMEM;
        for (size_t i = 0; p && i < n_held; i++)
            p[i] = cp_logreg_predict(m, xh + i * ML_N_FEATURES);
        if (p) r->auc = cp_auc(p, yh, n_held);
        cp_free(p);
        r->iterations = m->iterations;
    }
    cp_free(xs);
    cp_free(xh);
    cp_free(ys);
    cp_free(yh);
    ml_table_free(&t);
    return rc;
}

static const char *risk_of(double p)
{
    return p >= 0.7 ? "high" : p >= 0.4 ? "medium" : "low";
}

static int write_scores(cp_store *s, const cp_ml_options *o, cp_ml_report *r, const cp_scaler *sc,
                        const cp_logreg *m, char *err, size_t errlen)
{
    ml_table t;
    int rc = ml_load_features(s, r->snapshot, o->lookback_days, 0, NULL, &t, err, errlen);
    if (rc) return rc;
    r->customers = (int64_t)t.n;
    cp_store_appender *a = NULL;
    rc = cp_store_appender_open(s, "churn_scores", &a);
    for (size_t i = 0; rc == CP_OK && i < t.n; i++) {
        double *row = t.x + i * ML_N_FEATURES, recency = row[ML_RECENCY];
        cp_scaler_apply(sc, row, 1);
        double p = cp_logreg_predict(m, row);
        cp_store_append_date(a, r->snapshot);
        cp_store_append_text(a, ml_table_id(&t, i));
        cp_store_append_double(a, p);
        cp_store_append_text(a, cp_slice_from(risk_of(p)));
        cp_store_append_double(a, recency);
        rc = cp_store_append_end(a);
    }
    int crc = cp_store_appender_close(a);
    ml_table_free(&t);
    return rc ? rc : crc;
}

int cp_ml_churn(cp_store *s, const cp_ml_options *o, cp_ml_report *r, char *err, size_t errlen)
{
    int64_t started = cp_now_ms(), t0 = cp_mono_ns();
    memset(r, 0, sizeof(*r));
    r->auc = r->inertia = r->silhouette = NAN;
    r->previous = INT32_MIN;
    err[0] = 0;
    if (o->churn_days < 1) {
        snprintf(err, errlen, "churn days must be at least 1");
        return CP_EINVAL;
    }
    cp_scaler sc = {0};
    cp_logreg m = {0};
    int rc = ml_resolve_snapshot(s, o->snapshot, &r->snapshot, err, errlen);
    if (!rc) rc = train(s, o, r, &sc, &m, err, errlen);
    char d[11] = {0}, sql[256], params[192];
    cp_date_format(r->snapshot, d);
    snprintf(sql, sizeof(sql),
             "BEGIN TRANSACTION; DELETE FROM churn_scores WHERE snapshot = DATE '%1$s';"
             " DELETE FROM ml_models WHERE kind = 'churn' AND snapshot = DATE '%1$s';"
             " DELETE FROM ml_model_values WHERE kind = 'churn' AND snapshot = DATE '%1$s';",
             d);
    snprintf(params, sizeof(params),
             "{\"churn_days\":%d,\"lookback_days\":%d,\"l2\":%g,\"auc\":%.6f}", o->churn_days,
             o->lookback_days, o->l2, r->auc);
    if (!rc) rc = cp_store_exec(s, sql, err, errlen);
    if (!rc) {
        rc = write_scores(s, o, r, &sc, &m, err, errlen);
        ml_model model = {sc, m.w, 1, o->lookback_days};
        if (!rc)
            rc = ml_model_store(s, "churn", r->snapshot, ml_all_features, &model, "weight",
                                ML_N_FEATURES + 1, params);
        if (!rc) rc = ml_write_run(s, "churn", r, started, params);
        if (!rc) rc = cp_store_exec(s, "COMMIT", err, errlen);
        if (rc) {
            if (!err[0]) snprintf(err, errlen, "%s", cp_store_error(s));
            cp_store_exec(s, "ROLLBACK", NULL, 0);
        }
    }
    if (rc && !err[0]) snprintf(err, errlen, "churn: %s", cp_strerror(rc));
    r->seconds = (double)(cp_mono_ns() - t0) / 1e9;
    cp_scaler_free(&sc);
    cp_logreg_free(&m);
    return rc;
}

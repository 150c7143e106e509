/* Private to src/ml: the random numbers and distances the numeric core shares. */
#ifndef CP_ML_INTERNAL_H
#define CP_ML_INTERNAL_H

#include "clickpulse/ml.h"
#include "clickpulse/store.h"
#include "clickpulse/str.h"

#include <stddef.h>
#include <stdint.h>

/* splitmix64: small, fast, and the same sequence on every platform for a seed. */
typedef struct ml_rng {
    uint64_t s;
} ml_rng;

static inline uint64_t ml_next(ml_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double ml_unit(ml_rng *r)
{
    return (double)(ml_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n ≥ 1. */
static inline size_t ml_below(ml_rng *r, size_t n)
{
    return (size_t)(ml_unit(r) * (double)n);
}

static inline double ml_dist2(const double *a, const double *b, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

/* A seeded random sample of m of n row indices (m ≤ n), in random order; NULL when out of
 * memory. The caller frees it with cp_free. */
size_t *ml_sample(size_t n, size_t m, uint64_t seed);

/* The features every customer is described by (features.c): names, in column order,
 * which are skewed enough to log-transform, and which K-Means clusters on — the
 * behavioural rates that describe a kind of customer whatever their age (recency,
 * visits a week, conversion, pages a visit, cart adds a visit, price affinity); the
 * others (counts and money over the lookback, tenure) describe the segments' profiles
 * and feed the churn model. */
enum {
    ML_RECENCY,
    ML_ORDERS,
    ML_REVENUE,
    ML_AOV,
    ML_SESSIONS_PER_WEEK,
    ML_CONVERSION,
    ML_PAGES_PER_SESSION,
    ML_PRODUCT_VIEWS,
    ML_CART_ADDS,
    ML_CART_ABANDONMENT,
    ML_VIEWED_PRICE,
    ML_TENURE,
    ML_N_FEATURES
};
#define ML_N_CLUSTERED 6
extern const char *const ml_feature_names[ML_N_FEATURES];
extern const uint8_t ml_feature_log1p[ML_N_FEATURES];
extern const size_t ml_clustered[ML_N_CLUSTERED];   /* feature indices K-Means uses */
extern const size_t ml_all_features[ML_N_FEATURES]; /* 0, 1, …: every feature */

/* Customers' features as of a snapshot: n rows of ML_N_FEATURES, with their ids and,
 * when asked for, a 0/1 label (no activity in the label_days after the snapshot). */
typedef struct ml_table {
    size_t n, cap;
    double *x;
    uint8_t *label;
    cp_buf ids;
    size_t *id_end;
} ml_table;

/* Loads the features of every customer first seen before the end of day snapshot
 * (activity counted over the lookback days before it); label_days > 0 adds the label;
 * user (may be NULL) restricts it to one customer. */
int ml_load_features(cp_store *s, int32_t snapshot, int lookback, int label_days, const char *user,
                     ml_table *t, char *err, size_t errlen);
cp_slice ml_table_id(const ml_table *t, size_t i);
void ml_table_free(ml_table *t);
/* want, or the day of the latest event when want is INT32_MIN. CP_ENOENT: no events. */
int ml_resolve_snapshot(cp_store *s, int32_t want, int32_t *out, char *err, size_t errlen);
/* Copies the features listed in idx (d of them) of t's rows into a new n × d matrix. */
double *ml_columns(const ml_table *t, const size_t *idx, size_t d);
/* The latest snapshot of a kind's stored model before (or at, with at_or_before) day. */
int ml_model_snapshot(cp_store *s, const char *kind, int32_t day, int at_or_before, int32_t *out,
                      char *err, size_t errlen);
/* A stored model over d features: its scaler, the lookback its features used, and its
 * 'centroid' or 'weight' rows (each of width values: d, or d + 1 with the intercept). */
typedef struct ml_model {
    cp_scaler sc;
    double *rows;
    int n_rows, lookback;
} ml_model;
/* Loads a kind's model of a snapshot over d features (positions in the model's order). */
int ml_model_load(cp_store *s, const char *kind, int32_t snapshot, size_t d, ml_model *m, char *err,
                  size_t errlen);
void ml_model_free(ml_model *m);
/* Stores a model and its ml_models row in the open transaction: the scaler over the
 * features listed in idx (sc->d of them), then rows × width values of part. */
int ml_model_store(cp_store *s, const char *kind, int32_t snapshot, const size_t *idx,
                   const ml_model *m, const char *part, size_t width, const char *params);
/* Appends the run's row to ml_runs (in the open transaction). */
int ml_write_run(cp_store *s, const char *kind, const cp_ml_report *r, int64_t started,
                 const char *params);

#endif

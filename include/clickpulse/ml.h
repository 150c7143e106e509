/* Machine learning on customers: K-Means segments and churn risk.
 *
 * The numeric core works on dense row-major matrices of doubles (n rows of d
 * features) and is deterministic for a seed: a scaler (z-score, with log1p for
 * skewed features), K-Means (k-means++ seeding, Hamerly's accelerated
 * assignment, restarts keeping the lowest inertia, k chosen by silhouette),
 * L2-regularised logistic regression (Newton's method), and the measures that
 * judge them (silhouette, adjusted Rand index, ROC AUC).
 *
 * The runners on top (cp_ml_segment, cp_ml_churn) read the features of every
 * customer from the store as of a snapshot date and write the outputs there:
 * customer_segments, cluster_profiles, cluster_transitions, churn_scores, the
 * models (ml_models, ml_model_values) and the runs (ml_runs). docs/ml.md has
 * the details. Nothing here is thread-safe on a shared object; distinct
 * objects may be used from distinct threads. */
#ifndef CLICKPULSE_ML_H
#define CLICKPULSE_ML_H

#include "clickpulse/store.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- scaler ---- */

typedef struct cp_scaler {
    size_t d;
    double *mean, *sd; /* of the (log1p-transformed) features; sd 1 where a feature is constant */
    uint8_t *log1p;    /* per feature: 1 = log1p first (sign-preserving) */
} cp_scaler;

/* Learns the scaler of n rows of x (n ≥ 1); log1p (d flags, may be NULL) chooses the
 * features to log-transform first. NaN marks an unknown value: it is left out of the
 * mean and deviation, and cp_scaler_apply turns it into 0 (the mean). Returns 0 or
 * CP_ENOMEM / CP_EINVAL. */
int cp_scaler_fit(cp_scaler *s, const double *x, size_t n, size_t d, const uint8_t *log1p);
/* Transforms n rows in place (x must have s->d columns). */
void cp_scaler_apply(const cp_scaler *s, double *x, size_t n);
/* Undoes cp_scaler_apply on one row, in place. */
void cp_scaler_invert(const cp_scaler *s, double *row);
void cp_scaler_free(cp_scaler *s);

/* ---- K-Means ---- */

typedef struct cp_kmeans_params {
    int k;         /* clusters wanted, ≥ 1; fewer when there are fewer rows */
    int n_init;    /* restarts, each with its own k-means++ seeding (≥ 1) */
    int max_iter;  /* iterations per restart */
    uint64_t seed; /* the same seed, data and parameters give the same result */
} cp_kmeans_params;

typedef struct cp_kmeans {
    int k;
    size_t d;
    double *centroids;   /* k × d */
    int64_t *sizes;      /* rows per cluster; 0 only when there are fewer distinct rows than k */
    double inertia;      /* sum of squared distances to the assigned centroids */
    int iterations;      /* of the restart kept */
    int converged;       /* that restart stopped because no row moved */
    uint64_t distances;  /* row-to-centroid distances computed by assignment passes (the first
                            full one included; seeding's k·n not), over every restart */
    uint64_t row_passes; /* rows × assignment passes, over every restart: distances /
                            row_passes is the distances per row per iteration */
} cp_kmeans;

/* Fits K-Means to n rows of d features; labels (n entries, may be NULL) receives each
 * row's cluster. Returns 0, CP_EINVAL (n = 0, d = 0 or k < 1) or CP_ENOMEM. */
int cp_kmeans_fit(const double *x, size_t n, size_t d, const cp_kmeans_params *p, cp_kmeans *m,
                  int32_t *labels);
/* The nearest centroid of one row, and its squared distance into *dist2 (may be NULL). */
int cp_kmeans_predict(const cp_kmeans *m, const double *row, double *dist2);
void cp_kmeans_free(cp_kmeans *m);

/* Chooses k in [k_min, k_max] by the mean silhouette of fits on a sample of at most
 * sample rows (the silhouette itself on at most 2,000 of them). Returns the k, or a
 * negative error; *score receives its silhouette (may be NULL). */
int cp_kmeans_choose_k(const double *x, size_t n, size_t d, int k_min, int k_max, size_t sample,
                       const cp_kmeans_params *p, double *score);

/* ---- measures ---- */

/* Mean silhouette of n labelled rows (O(n²): pass a sample); 0 with fewer than 2 clusters. */
double cp_silhouette(const double *x, size_t n, size_t d, const int32_t *labels, int k);
/* Adjusted Rand index of two labellings of n items (labels ≥ 0); 1 for identical partitions. */
double cp_adjusted_rand(const int32_t *a, const int32_t *b, size_t n);
/* Area under the ROC curve of scores against 0/1 labels (ties count half); 0.5 when a
 * class is missing. */
double cp_auc(const double *scores, const uint8_t *labels, size_t n);

/* ---- logistic regression ---- */

typedef struct cp_logreg {
    size_t d;
    double *w; /* d weights, then the intercept */
    int iterations;
} cp_logreg;

/* Fits L2-regularised logistic regression (penalty l2/2·|w|², intercept free, loss
 * averaged over rows) by Newton's method. Returns 0, CP_EINVAL or CP_ENOMEM. */
int cp_logreg_fit(const double *x, const uint8_t *y, size_t n, size_t d, double l2, cp_logreg *m);
/* The probability of class 1 for one row. */
double cp_logreg_predict(const cp_logreg *m, const double *row);
void cp_logreg_free(cp_logreg *m);

/* ---- runners over the store ---- */

typedef struct cp_ml_options {
    int32_t snapshot; /* days since epoch; INT32_MIN: the day of the latest event */
    int k;            /* clusters; 0 = auto */
    int k_max;        /* largest k tried by auto */
    int n_init, max_iter;
    uint64_t seed;
    int lookback_days; /* activity features count the days before the snapshot */
    int churn_days;    /* churned = no activity for this many days */
    double l2;         /* churn model's regularisation */
} cp_ml_options;

/* Defaults: latest snapshot, k auto up to 10, 4 restarts, 100 iterations, seed 42,
 * 90 days of lookback, churn after 30 days, l2 0.001. */
void cp_ml_options_default(cp_ml_options *o);

typedef struct cp_ml_report {
    int32_t snapshot, previous; /* previous: the snapshot transitions came from, or INT32_MIN */
    int64_t customers;
    int k;
    double inertia, silhouette;
    int iterations;
    double auc;                  /* churn: held-out AUC */
    int64_t train_rows, churned; /* churn: training rows and churners among them */
    int64_t moved;               /* segment: customers in another segment than before */
    double seconds;
} cp_ml_report;

/* Segments the customers as of o->snapshot and writes customer_segments, cluster_profiles,
 * cluster_transitions (from the previous snapshot), the model and a row of ml_runs, all in
 * one transaction that replaces the snapshot's earlier outputs. s must be a connection
 * of its own (the caller's thread). Returns 0, CP_ENOENT when there are no customers, or
 * an error with a message in err. */
int cp_ml_segment(cp_store *s, const cp_ml_options *o, cp_ml_report *r, char *err, size_t errlen);
/* Trains the churn model on the snapshot churn_days back (label: no activity in the
 * churn_days since), measures its AUC on a held-out fifth, scores every customer as of
 * the snapshot into churn_scores, and records the run. Same contract as cp_ml_segment. */
int cp_ml_churn(cp_store *s, const cp_ml_options *o, cp_ml_report *r, char *err, size_t errlen);
/* Writes every customer's features as of o->snapshot (over o->lookback_days) to out as
 * CSV with a header: user_id, then the features, unscaled. */
int cp_ml_features_csv(cp_store *s, const cp_ml_options *o, FILE *out, char *err, size_t errlen);
/* Places one customer into a segment of the latest model at or before snapshot with
 * their features as of then: *cluster and the label into label. Returns 0, CP_ENOENT
 * (no model, or no such customer) or an error. */
int cp_ml_place(cp_store *s, const char *user_id, int32_t snapshot, int *cluster, char *label,
                size_t labellen, char *err, size_t errlen);

#endif

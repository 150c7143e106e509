/* K-Means: k-means++ seeding, then Lloyd iterations whose assignment step is
 * Hamerly's (2010): each row keeps an upper bound on the distance to its
 * centroid and a lower bound on the distance to the second closest, both moved
 * by how far the centroids move, so most rows are settled without computing a
 * distance. Cluster sums are updated as rows move, so moving the centroids
 * costs k·d, not n·d. A cluster left empty takes the row farthest from its
 * centroid. Several restarts; the lowest inertia wins. */
#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/ml.h"
#include "internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

typedef struct km_run {
    const double *x;
    size_t n, d;
    int k;
    double *c, *sums, *u, *l, *s, *p;
    int64_t *cnt;
    int32_t *a;
    uint64_t distances, row_passes;
} km_run;

size_t *ml_sample(size_t n, size_t m, uint64_t seed)
{
    size_t *idx = cp_reallocarray(NULL, n ? n : 1, sizeof(*idx));
    if (!idx) return NULL;
    for (size_t i = 0; i < n; i++) idx[i] = i;
    ml_rng r = {seed};
    for (size_t i = 0; i < m && i + 1 < n; i++) { /* partial Fisher–Yates */
        size_t j = i + ml_below(&r, n - i);
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    return idx;
}

/* k-means++: each next centroid is a row drawn with probability proportional to its
 * squared distance to the nearest centroid so far. */
static int seed_plusplus(km_run *m, ml_rng *r)
{
    size_t n = m->n, d = m->d;
    double *near = cp_reallocarray(NULL, n, sizeof(double));
    if (!near) return CP_ENOMEM;
    size_t first = ml_below(r, n);
    memcpy(m->c, m->x + first * d, d * sizeof(double));
    double total = 0;
    for (size_t i = 0; i < n; i++) total += near[i] = ml_dist2(m->x + i * d, m->c, d);
    for (int j = 1; j < m->k; j++) {
        size_t pick = n - 1;
        if (total > 0) {
            double target = ml_unit(r) * total, acc = 0;
            for (size_t i = 0; i < n; i++)
                if ((acc += near[i]) > target) {
                    pick = i;
                    break;
                }
        } else {
            pick = ml_below(r, n); /* every row sits on a centroid already */
        }
        double *cj = m->c + (size_t)j * d;
        memcpy(cj, m->x + pick * d, d * sizeof(double));
        total = 0;
        for (size_t i = 0; i < n; i++) {
            double v = ml_dist2(m->x + i * d, cj, d);
            if (v < near[i]) near[i] = v;
            total += near[i];
        }
    }
    cp_free(near);
    return CP_OK;
}

/* Distances from row i to every centroid: the closest, its distance and the second's. */
static int32_t nearest_two(km_run *m, size_t i, double *best, double *second)
{
    const double *xi = m->x + i * m->d;
    double b = DBL_MAX, s = DBL_MAX;
    int32_t bj = 0;
    for (int j = 0; j < m->k; j++) {
        double v = ml_dist2(xi, m->c + (size_t)j * m->d, m->d);
        if (v < b) {
            s = b;
            b = v;
            bj = j;
        } else if (v < s) {
            s = v;
        }
    }
    m->distances += (uint64_t)m->k;
    *best = sqrt(b);
    *second = s == DBL_MAX ? DBL_MAX : sqrt(s);
    return bj;
}

static void add_row(km_run *m, size_t i, int32_t j, double sign)
{
    const double *xi = m->x + i * m->d;
    double *sj = m->sums + (size_t)j * m->d;
    for (size_t f = 0; f < m->d; f++) sj[f] += sign * xi[f];
    m->cnt[j] += sign > 0 ? 1 : -1;
}

static void assign_all(km_run *m)
{
    memset(m->sums, 0, (size_t)m->k * m->d * sizeof(double));
    memset(m->cnt, 0, (size_t)m->k * sizeof(int64_t));
    for (size_t i = 0; i < m->n; i++) {
        m->a[i] = nearest_two(m, i, &m->u[i], &m->l[i]);
        add_row(m, i, m->a[i], 1);
    }
    m->row_passes += m->n;
}

/* An empty cluster takes the row with the largest upper bound among clusters of two or
 * more rows; it stays empty when every row sits on its centroid. */
static void fill_empty(km_run *m)
{
    for (int j = 0; j < m->k; j++) {
        if (m->cnt[j]) continue;
        size_t far = m->n;
        double far_u = 0;
        for (size_t i = 0; i < m->n; i++)
            if (m->u[i] > far_u && m->cnt[m->a[i]] > 1) {
                far_u = m->u[i];
                far = i;
            }
        if (far == m->n) return;
        add_row(m, far, m->a[far], -1);
        add_row(m, far, j, 1);
        m->a[far] = j;
        m->u[far] = 0;
        m->l[far] = 0;
    }
}

/* Moves each centroid to the mean of its rows; p[j] receives how far it moved. */
static void move_centroids(km_run *m)
{
    size_t d = m->d;
    double *mean = m->s; /* scratch: s is recomputed afterwards */
    for (int j = 0; j < m->k; j++) {
        double *cj = m->c + (size_t)j * d;
        m->p[j] = 0;
        if (!m->cnt[j]) continue;
        for (size_t f = 0; f < d; f++) mean[f] = m->sums[(size_t)j * d + f] / (double)m->cnt[j];
        m->p[j] = sqrt(ml_dist2(cj, mean, d));
        memcpy(cj, mean, d * sizeof(double));
    }
}

static void update_bounds(km_run *m)
{
    int r1 = 0;
    for (int j = 1; j < m->k; j++)
        if (m->p[j] > m->p[r1]) r1 = j;
    double p2 = 0;
    for (int j = 0; j < m->k; j++)
        if (j != r1 && m->p[j] > p2) p2 = m->p[j];
    for (size_t i = 0; i < m->n; i++) {
        m->u[i] += m->p[m->a[i]];
        m->l[i] -= m->a[i] == r1 ? p2 : m->p[r1];
    }
}

/* s[j]: half the distance from centroid j to its nearest other centroid. */
static void half_gaps(km_run *m)
{
    for (int j = 0; j < m->k; j++) m->s[j] = DBL_MAX;
    for (int j = 0; j < m->k; j++)
        for (int q = j + 1; q < m->k; q++) {
            double v = 0.5 * sqrt(ml_dist2(m->c + (size_t)j * m->d, m->c + (size_t)q * m->d, m->d));
            if (v < m->s[j]) m->s[j] = v;
            if (v < m->s[q]) m->s[q] = v;
        }
}

/* One assignment pass; returns the number of rows that changed cluster. */
static size_t assign_pass(km_run *m)
{
    size_t moved = 0;
    for (size_t i = 0; i < m->n; i++) {
        int32_t ai = m->a[i];
        double bound = m->s[ai] > m->l[i] ? m->s[ai] : m->l[i];
        if (m->u[i] <= bound) continue;
        m->u[i] = sqrt(ml_dist2(m->x + i * m->d, m->c + (size_t)ai * m->d, m->d));
        m->distances++;
        if (m->u[i] <= bound) continue;
        int32_t b = nearest_two(m, i, &m->u[i], &m->l[i]);
        if (b != ai) {
            add_row(m, i, ai, -1);
            add_row(m, i, b, 1);
            m->a[i] = b;
            moved++;
        }
    }
    m->row_passes += m->n;
    return moved;
}

static double inertia_of(const km_run *m)
{
    double sum = 0;
    for (size_t i = 0; i < m->n; i++)
        sum += ml_dist2(m->x + i * m->d, m->c + (size_t)m->a[i] * m->d, m->d);
    return sum;
}

/* One restart: seeding, then iterations until no row moves or max_iter. */
static int run_once(km_run *m, ml_rng *r, int max_iter, int *iterations, int *converged)
{
    int rc = seed_plusplus(m, r);
    if (rc) return rc;
    assign_all(m);
    size_t moved = m->n;
    int it = 0;
    while (moved && it < max_iter) {
        fill_empty(m);
        move_centroids(m);
        update_bounds(m);
        half_gaps(m);
        moved = assign_pass(m);
        it++;
    }
    fill_empty(m);
    move_centroids(m); /* the means of the final assignment */
    *iterations = it;
    *converged = moved == 0;
    return CP_OK;
}

static int run_alloc(km_run *m, const double *x, size_t n, size_t d, int k)
{
    size_t wide = (size_t)k > d ? (size_t)k : d;
    *m = (km_run){.x = x, .n = n, .d = d, .k = k};
    m->c = cp_calloc((size_t)k * d, sizeof(double));
    m->sums = cp_calloc((size_t)k * d, sizeof(double));
    m->s = cp_calloc(wide, sizeof(double));
    m->p = cp_calloc((size_t)k, sizeof(double));
    m->cnt = cp_calloc((size_t)k, sizeof(int64_t));
    m->u = cp_calloc(n, sizeof(double));
    m->l = cp_calloc(n, sizeof(double));
    m->a = cp_calloc(n, sizeof(int32_t));
    return m->c && m->sums && m->s && m->p && m->cnt && m->u && m->l && m->a ? CP_OK : CP_ENOMEM;
}

static void run_free(km_run *m)
{
    cp_free(m->c);
    cp_free(m->sums);
    cp_free(m->s);
    cp_free(m->p);
    cp_free(m->cnt);
    cp_free(m->u);
    cp_free(m->l);
    cp_free(m->a);
}

static int keep_best(cp_kmeans *best, const km_run *run, double inertia, int it, int conv,
                     int32_t *labels)
{
    best->inertia = inertia;
    best->iterations = it;
    best->converged = conv;
    memcpy(best->centroids, run->c, (size_t)run->k * run->d * sizeof(double));
    memcpy(best->sizes, run->cnt, (size_t)run->k * sizeof(int64_t));
    if (labels) memcpy(labels, run->a, run->n * sizeof(int32_t));
    return CP_OK;
}

int cp_kmeans_fit(const double *x, size_t n, size_t d, const cp_kmeans_params *p, cp_kmeans *m,
                  int32_t *labels)
{
    memset(m, 0, sizeof(*m));
    if (!n || !d || p->k < 1) return CP_EINVAL;
    int k = (size_t)p->k > n ? (int)n : p->k;
    km_run run;
    int rc = run_alloc(&run, x, n, d, k);
    m->k = k;
    m->d = d;
    m->centroids = cp_calloc((size_t)k * d, sizeof(double));
    m->sizes = cp_calloc((size_t)k, sizeof(int64_t));
    if (!m->centroids || !m->sizes) rc = CP_ENOMEM;
    m->inertia = DBL_MAX;
    int restarts = p->n_init > 0 ? p->n_init : 1, max_iter = p->max_iter > 0 ? p->max_iter : 100;
    for (int t = 0; t < restarts && rc == CP_OK; t++) {
        ml_rng r = {p->seed * 0x100000001B3ULL + (uint64_t)t * 0x9E3779B97F4A7C15ULL};
        int it, conv;
        rc = run_once(&run, &r, max_iter, &it, &conv);
        if (rc) break;
        double inertia = inertia_of(&run);
        if (inertia < m->inertia) keep_best(m, &run, inertia, it, conv, labels);
    }
    m->distances = run.distances;
    m->row_passes = run.row_passes;
    run_free(&run);
    if (rc) cp_kmeans_free(m);
    return rc;
}

int cp_kmeans_predict(const cp_kmeans *m, const double *row, double *dist2)
{
    int best = 0;
    double b = DBL_MAX;
    for (int j = 0; j < m->k; j++) {
        double v = ml_dist2(row, m->centroids + (size_t)j * m->d, m->d);
        if (v < b) {
            b = v;
            best = j;
        }
    }
    if (dist2) *dist2 = b;
    return best;
}

void cp_kmeans_free(cp_kmeans *m)
{
    cp_free(m->centroids);
    cp_free(m->sizes);
    m->centroids = NULL;
    m->sizes = NULL;
}

int cp_kmeans_choose_k(const double *x, size_t n, size_t d, int k_min, int k_max, size_t sample,
                       const cp_kmeans_params *p, double *score)
{
    if (!n || !d || k_min < 2 || k_max < k_min) return CP_EINVAL;
    size_t m = n < sample ? n : sample, sil = m < 2000 ? m : 2000;
    size_t *idx = ml_sample(n, m, p->seed ^ 0x5151);
    double *xs = cp_reallocarray(NULL, m, d * sizeof(double));
    int32_t *labels = cp_reallocarray(NULL, m, sizeof(int32_t));
    int best_k = CP_ENOMEM;
    double best = -2;
    if (idx && xs && labels) {
        for (size_t i = 0; i < m; i++) memcpy(xs + i * d, x + idx[i] * d, d * sizeof(double));
        for (int k = k_min; k <= k_max && (size_t)k < m; k++) {
            cp_kmeans km;
            cp_kmeans_params q = *p;
            q.k = k;
            int rc = cp_kmeans_fit(xs, m, d, &q, &km, labels);
            if (rc) {
                best_k = rc;
                break;
            }
            double s = cp_silhouette(xs, sil, d, labels, km.k);
            cp_kmeans_free(&km);
            if (s > best + 1e-9) {
                best = s;
                best_k = k;
            }
        }
        if (best_k == CP_ENOMEM) best_k = k_min; /* too few rows to compare */
    }
    cp_free(idx);
    cp_free(xs);
    cp_free(labels);
    if (score) *score = best;
    return best_k;
}

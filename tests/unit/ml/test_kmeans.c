/* src/ml/kmeans.c: exact answers on small inputs, a Lloyd fixed point at
 * convergence, no empty cluster while distinct rows remain, determinism for a
 * seed, blobs recovered, fewer distances than Lloyd, k chosen by silhouette. */
#include "clickpulse/error.h"
#include "clickpulse/ml.h"
#include "test.h"

#include <math.h>
#include <stdint.h>

static uint64_t rng_state;
static double unit(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}
static double gauss(void)
{
    double u = unit() + 1e-300, v = unit();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* n rows in blobs of d dimensions around centres spread 10 apart; truth receives the blob. */
static double *blobs(size_t n, size_t d, int k, int32_t *truth, uint64_t seed)
{
    rng_state = seed;
    double *centre = malloc((size_t)k * d * sizeof(double)), *x = malloc(n * d * sizeof(double));
    for (size_t i = 0; i < (size_t)k * d; i++) centre[i] = unit() * 40;
    for (size_t i = 0; i < n; i++) {
        int b = (int)(i % (size_t)k);
        if (truth) truth[i] = b;
        for (size_t f = 0; f < d; f++) x[i * d + f] = centre[(size_t)b * d + f] + gauss();
    }
    free(centre);
    return x;
}

static void test_small_exact(void)
{
    const double x[] = {0, 0, 0, 1, 10, 10, 10, 11};
    int32_t labels[4];
    cp_kmeans m;
    cp_kmeans_params p = {.k = 2, .n_init = 3, .max_iter = 50, .seed = 7};
    CHECK_INT(cp_kmeans_fit(x, 4, 2, &p, &m, labels), CP_OK);
    CHECK_INT(m.k, 2);
    CHECK_NEAR(m.inertia, 1.0, 1e-12);
    CHECK(labels[0] == labels[1] && labels[2] == labels[3] && labels[0] != labels[2]);
    int lo = labels[0];
    CHECK_NEAR(m.centroids[lo * 2], 0, 1e-12);
    CHECK_NEAR(m.centroids[lo * 2 + 1], 0.5, 1e-12);
    CHECK_NEAR(m.centroids[(1 - lo) * 2 + 1], 10.5, 1e-12);
    CHECK_INT(m.sizes[0], 2);
    CHECK_INT(m.sizes[1], 2);
    CHECK(m.converged);
    const double probe[] = {9, 9};
    double d2;
    CHECK_INT(cp_kmeans_predict(&m, probe, &d2), 1 - lo);
    CHECK_NEAR(d2, 1 + 1.5 * 1.5, 1e-12);
    cp_kmeans_free(&m);
}

static void test_tiny_and_degenerate(void)
{
    cp_kmeans m;
    cp_kmeans_params p = {.k = 3, .n_init = 2, .max_iter = 10, .seed = 1};
    CHECK_INT(cp_kmeans_fit(NULL, 0, 2, &p, &m, NULL), CP_EINVAL);
    p.k = 0;
    const double one[] = {3, 4};
    CHECK_INT(cp_kmeans_fit(one, 1, 2, &p, &m, NULL), CP_EINVAL);
    p.k = 5; /* more clusters than rows: one a row */
    const double two[] = {1, 1, 5, 5};
    int32_t l2[2];
    CHECK_INT(cp_kmeans_fit(two, 2, 2, &p, &m, l2), CP_OK);
    CHECK_INT(m.k, 2);
    CHECK_NEAR(m.inertia, 0, 0);
    CHECK(l2[0] != l2[1]);
    cp_kmeans_free(&m);
    /* Five equal rows, three clusters: one cluster holds them, two stay empty. */
    const double same[] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    int32_t l5[5];
    p.k = 3;
    CHECK_INT(cp_kmeans_fit(same, 5, 2, &p, &m, l5), CP_OK);
    CHECK_INT(m.k, 3);
    CHECK_INT(m.sizes[0] + m.sizes[1] + m.sizes[2], 5);
    CHECK_INT((m.sizes[0] == 5) + (m.sizes[1] == 5) + (m.sizes[2] == 5), 1);
    CHECK_NEAR(m.inertia, 0, 0);
    cp_kmeans_free(&m);
}

/* At convergence every row is at its nearest centroid and each centroid is its rows' mean. */
static void check_fixed_point(const double *x, size_t n, size_t d, const cp_kmeans *m,
                              const int32_t *labels)
{
    double *mean = calloc((size_t)m->k * d, sizeof(double));
    int64_t *cnt = calloc((size_t)m->k, sizeof(int64_t));
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) {
        double d_own = 0, d_best;
        for (size_t f = 0; f < d; f++) {
            double t = x[i * d + f] - m->centroids[(size_t)labels[i] * d + f];
            d_own += t * t;
        }
        cp_kmeans_predict(m, x + i * d, &d_best);
        if (d_own > d_best + 1e-9) wrong++;
        cnt[labels[i]]++;
        for (size_t f = 0; f < d; f++) mean[(size_t)labels[i] * d + f] += x[i * d + f];
    }
    CHECK_INT(wrong, 0);
    for (int j = 0; j < m->k; j++) {
        CHECK_INT(cnt[j], m->sizes[j]);
        for (size_t f = 0; f < d && cnt[j]; f++)
            CHECK_NEAR(mean[(size_t)j * d + f] / (double)cnt[j], m->centroids[(size_t)j * d + f],
                       1e-9);
    }
    free(mean);
    free(cnt);
}

static void test_fixed_point_and_no_empty(void)
{
    size_t n = 400, d = 3;
    rng_state = 99;
    double *x = malloc(n * d * sizeof(double));
    for (size_t i = 0; i < n * d; i++) x[i] = unit() * unit() * 100; /* skewed, no blobs */
    int32_t *labels = malloc(n * sizeof(int32_t));
    for (uint64_t seed = 0; seed < 20; seed++) {
        cp_kmeans m;
        cp_kmeans_params p = {.k = 40, .n_init = 1, .max_iter = 1000, .seed = seed};
        CHECK_INT(cp_kmeans_fit(x, n, d, &p, &m, labels), CP_OK);
        CHECK(m.converged);
        int empty = 0;
        for (int j = 0; j < m.k; j++) empty += m.sizes[j] == 0;
        CHECK_INT(empty, 0);
        check_fixed_point(x, n, d, &m, labels);
        cp_kmeans_free(&m);
    }
    free(x);
    free(labels);
}

static void test_constant_feature(void)
{
    size_t n = 300, d = 3;
    int32_t truth[300], labels[300];
    double *x = blobs(n, d, 3, truth, 5);
    for (size_t i = 0; i < n; i++) x[i * d + 1] = 7.25; /* the middle feature never varies */
    cp_kmeans m;
    cp_kmeans_params p = {.k = 3, .n_init = 4, .max_iter = 100, .seed = 3};
    CHECK_INT(cp_kmeans_fit(x, n, d, &p, &m, labels), CP_OK);
    for (int j = 0; j < 3; j++) CHECK_NEAR(m.centroids[j * 3 + 1], 7.25, 1e-12);
    CHECK_NEAR(cp_adjusted_rand(truth, labels, n), 1.0, 1e-12);
    cp_kmeans_free(&m);
    free(x);
}

static void test_blobs_deterministic_and_fast(void)
{
    size_t n = 40000, d = 10;
    int k = 8;
    int32_t *truth = malloc(n * sizeof(int32_t)), *a = malloc(n * sizeof(int32_t)),
            *b = malloc(n * sizeof(int32_t));
    double *x = blobs(n, d, k, truth, 11);
    cp_kmeans m1, m2;
    cp_kmeans_params p = {.k = k, .n_init = 3, .max_iter = 100, .seed = 42};
    CHECK_INT(cp_kmeans_fit(x, n, d, &p, &m1, a), CP_OK);
    CHECK_INT(cp_kmeans_fit(x, n, d, &p, &m2, b), CP_OK);
    CHECK(memcmp(m1.centroids, m2.centroids, (size_t)k * d * sizeof(double)) == 0);
    CHECK(memcmp(a, b, n * sizeof(int32_t)) == 0);
    CHECK_NEAR(cp_adjusted_rand(truth, a, n), 1.0, 1e-12);
    /* Lloyd computes k distances a row an iteration; after the first full pass of each
     * restart, Hamerly's bounds skip most. */
    uint64_t first = 3 * (uint64_t)n * (uint64_t)k;
    double per_row = (double)(m1.distances - first) / (double)(m1.row_passes - 3 * n);
    CHECK(per_row < 0.5 * k);
    CHECK_INT(m1.row_passes % n, 0);
    check_fixed_point(x, n, d, &m1, a);
    cp_kmeans_free(&m1);
    cp_kmeans_free(&m2);
    free(truth);
    free(a);
    free(b);
    free(x);
}

static void test_choose_k(void)
{
    size_t n = 3000, d = 4;
    double *x = blobs(n, d, 4, NULL, 21);
    cp_kmeans_params p = {.n_init = 2, .max_iter = 100, .seed = 9};
    double score = 0;
    CHECK_INT(cp_kmeans_choose_k(x, n, d, 2, 8, 1500, &p, &score), 4);
    CHECK(score > 0.5 && score <= 1);
    CHECK_INT(cp_kmeans_choose_k(x, n, d, 1, 8, 1500, &p, NULL), CP_EINVAL);
    free(x);
}

int main(void)
{
    RUN(test_small_exact);
    RUN(test_tiny_and_degenerate);
    RUN(test_fixed_point_and_no_empty);
    RUN(test_constant_feature);
    RUN(test_blobs_deterministic_and_fast);
    RUN(test_choose_k);
    TEST_END();
}

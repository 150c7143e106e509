/* K-Means on one core: 1,000,000 customers × 10 features, k = 8 (arguments: rows,
 * features, k). The data is a seeded mixture of k overlapping Gaussian clusters,
 * standardised like the customer features. Prints JSON: the time of one fit
 * (k-means++ seeding and Hamerly iterations to convergence), its iterations, the
 * distances computed per row per iteration, a plain Lloyd assignment pass for
 * comparison, a fit with 4 restarts, the adjusted Rand index against the mixture,
 * and peak memory. */
#include "clickpulse/ml.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static uint64_t state = 2026;
static double unit(void)
{
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}
static double gauss(void)
{
    return sqrt(-2 * log(unit() + 1e-300)) * cos(2 * M_PI * unit());
}
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One assignment pass the plain way: k distances a row. */
static double lloyd_pass(const double *x, size_t n, size_t d, const cp_kmeans *m, int32_t *labels)
{
    double t0 = now();
    for (size_t i = 0; i < n; i++) labels[i] = cp_kmeans_predict(m, x + i * d, NULL);
    return now() - t0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    size_t d = argc > 2 ? strtoull(argv[2], NULL, 10) : 10;
    int k = argc > 3 ? atoi(argv[3]) : 8;
    double *x = malloc(n * d * sizeof(double)), *centre = malloc((size_t)k * d * sizeof(double));
    int32_t *truth = malloc(n * sizeof(int32_t)), *labels = malloc(n * sizeof(int32_t));
    if (!x || !centre || !truth || !labels) return 1;
    for (size_t i = 0; i < (size_t)k * d; i++) centre[i] = 2.5 * gauss();
    for (size_t i = 0; i < n; i++) {
        truth[i] = (int32_t)(unit() * k);
        for (size_t f = 0; f < d; f++) x[i * d + f] = centre[(size_t)truth[i] * d + f] + gauss();
    }
    cp_scaler sc;
    cp_scaler_fit(&sc, x, n, d, NULL);
    cp_scaler_apply(&sc, x, n);
    cp_kmeans m, m4;
    cp_kmeans_params p = {.k = k, .n_init = 1, .max_iter = 300, .seed = 42};
    double t0 = now();
    if (cp_kmeans_fit(x, n, d, &p, &m, labels)) return 1;
    double fit = now() - t0;
    double ari = cp_adjusted_rand(truth, labels, n);
    uint64_t first = (uint64_t)n * (uint64_t)k;
    double per_iter =
        m.row_passes > n ? (double)(m.distances - first) / (double)(m.row_passes - n) : 0;
    double lloyd = lloyd_pass(x, n, d, &m, labels);
    p.n_init = 4;
    t0 = now();
    if (cp_kmeans_fit(x, n, d, &p, &m4, NULL)) return 1;
    double fit4 = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"bench\":\"kmeans\",\"rows\":%zu,\"features\":%zu,\"k\":%d,\"fit_s\":%.3f,"
           "\"iterations\":%d,\"converged\":%s,\"ms_per_iteration\":%.1f,"
           "\"distances_per_row_per_iteration\":%.3f,\"distances_per_row_all_passes\":%.3f,"
           "\"lloyd_pass_ms\":%.1f,\"fit_4_restarts_s\":%.3f,\"inertia\":%.0f,"
           "\"inertia_4_restarts\":%.0f,\"ari_vs_mixture\":%.4f,\"peak_rss_mb\":%.0f}\n",
           n, d, k, fit, m.iterations, m.converged ? "true" : "false",
           m.iterations ? 1000 * fit / m.iterations : 0, per_iter,
           (double)m.distances / (double)m.row_passes, 1000 * lloyd, fit4, m.inertia, m4.inertia,
           ari, (double)ru.ru_maxrss / 1024);
    cp_kmeans_free(&m);
    cp_kmeans_free(&m4);
    cp_scaler_free(&sc);
    free(x);
    free(centre);
    free(truth);
    free(labels);
    return 0;
}

/* How good a model is: the silhouette of a clustering, the adjusted Rand index
 * between two partitions, and the area under the ROC curve of scores. */
#include "clickpulse/mem.h"
#include "clickpulse/ml.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>

double cp_silhouette(const double *x, size_t n, size_t d, const int32_t *labels, int k)
{
    double *acc = cp_calloc((size_t)k, sizeof(double));
    int64_t *cnt = cp_calloc((size_t)k, sizeof(int64_t));
    double total = 0;
    int used = 0;
    if (!acc || !cnt) goto out;
    for (size_t i = 0; i < n; i++) cnt[labels[i]]++;
    for (int j = 0; j < k; j++) used += cnt[j] > 0;
    if (used < 2) goto out;
    for (size_t i = 0; i < n; i++) {
        int32_t own = labels[i];
        for (int j = 0; j < k; j++) acc[j] = 0;
        for (size_t q = 0; q < n; q++)
            if (q != i) acc[labels[q]] += sqrt(ml_dist2(x + i * d, x + q * d, d));
        if (cnt[own] < 2) continue; /* a row alone in its cluster scores 0 */
        double a = acc[own] / (double)(cnt[own] - 1), b = INFINITY;
        for (int j = 0; j < k; j++)
            if (j != own && cnt[j] && acc[j] / (double)cnt[j] < b) b = acc[j] / (double)cnt[j];
        double hi = a > b ? a : b;
        if (hi > 0) total += (b - a) / hi;
    }
    total /= (double)n;
out:
    cp_free(acc);
    cp_free(cnt);
    return total;
}

static double pairs(double v)
{
    return v * (v - 1) / 2;
}

double cp_adjusted_rand(const int32_t *a, const int32_t *b, size_t n)
{
    int32_t ka = 0, kb = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] + 1 > ka) ka = a[i] + 1;
        if (b[i] + 1 > kb) kb = b[i] + 1;
    }
    double *t = cp_calloc((size_t)ka * (size_t)kb + (size_t)ka + (size_t)kb, sizeof(double));
    if (!t) return NAN;
    double *ra = t + (size_t)ka * (size_t)kb, *rb = ra + ka;
    for (size_t i = 0; i < n; i++) {
        t[(size_t)a[i] * (size_t)kb + (size_t)b[i]]++;
        ra[a[i]]++;
        rb[b[i]]++;
    }
    double index = 0, sa = 0, sb = 0;
    for (size_t c = 0; c < (size_t)ka * (size_t)kb; c++) index += pairs(t[c]);
    for (int32_t i = 0; i < ka; i++) sa += pairs(ra[i]);
    for (int32_t j = 0; j < kb; j++) sb += pairs(rb[j]);
    cp_free(t);
    double expected = n > 1 ? sa * sb / pairs((double)n) : 0, max = (sa + sb) / 2;
    if (max == expected) return 1.0; /* both partitions trivial: they agree */
    return (index - expected) / (max - expected);
}

typedef struct scored {
    double s;
    uint8_t y;
} scored;

static int cmp_score(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return x < y ? -1 : x > y;
}

double cp_auc(const double *scores, const uint8_t *labels, size_t n)
{
    scored *v = cp_reallocarray(NULL, n ? n : 1, sizeof(*v));
    if (!v) return NAN;
    for (size_t i = 0; i < n; i++) v[i] = (scored){scores[i], labels[i] ? 1 : 0};
    qsort(v, n, sizeof(*v), cmp_score);
    double rank_sum = 0, pos = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s) j++;
        double rank = (double)(i + 1 + j) / 2; /* ties share their mean rank */
        for (size_t q = i; q < j; q++)
            if (v[q].y) {
                rank_sum += rank;
                pos++;
            }
        i = j;
    }
    cp_free(v);
    double neg = (double)n - pos;
    if (!pos || !neg) return 0.5;
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

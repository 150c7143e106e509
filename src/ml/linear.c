/* The linear parts: the feature scaler (log1p for skewed features, then
 * z-score) and L2-regularised logistic regression fitted by Newton's method,
 * whose (d+1)² system is solved by Cholesky. */
#include "clickpulse/error.h"
#include "clickpulse/mem.h"
#include "clickpulse/ml.h"

#include <math.h>
#include <string.h>

static double slog1p(double v)
{
    return v < 0 ? -log1p(-v) : log1p(v);
}

int cp_scaler_fit(cp_scaler *s, const double *x, size_t n, size_t d, const uint8_t *log1p_of)
{
    memset(s, 0, sizeof(*s));
    if (!n || !d) return CP_EINVAL;
    s->d = d;
    s->mean = cp_calloc(d, sizeof(double));
    s->sd = cp_calloc(d, sizeof(double));
    s->log1p = cp_calloc(d, 1);
    if (!s->mean || !s->sd || !s->log1p) {
        cp_scaler_free(s);
        return CP_ENOMEM;
    }
    if (log1p_of) memcpy(s->log1p, log1p_of, d);
    for (size_t f = 0; f < d; f++) {
        double mean = 0, m2 = 0, seen = 0; /* Welford, over the known values */
        for (size_t i = 0; i < n; i++) {
            double v = x[i * d + f];
            if (isnan(v)) continue;
            if (s->log1p[f]) v = slog1p(v);
            double delta = v - mean;
            mean += delta / ++seen;
            m2 += delta * (v - mean);
        }
        double sd = seen ? sqrt(m2 / seen) : 0;
        s->mean[f] = mean;
        s->sd[f] = sd > 1e-12 * (fabs(mean) + 1) ? sd : 1; /* a constant feature scales to 0 */
    }
    return CP_OK;
}

void cp_scaler_apply(const cp_scaler *s, double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < s->d; f++) {
            double v = x[i * s->d + f];
            if (isnan(v)) { /* unknown: the average */
                x[i * s->d + f] = 0;
                continue;
            }
            if (s->log1p[f]) v = slog1p(v);
            x[i * s->d + f] = (v - s->mean[f]) / s->sd[f];
        }
}

void cp_scaler_invert(const cp_scaler *s, double *row)
{
    for (size_t f = 0; f < s->d; f++) {
        double v = row[f] * s->sd[f] + s->mean[f];
        if (s->log1p[f]) v = v < 0 ? -expm1(-v) : expm1(v);
        row[f] = v;
    }
}

void cp_scaler_free(cp_scaler *s)
{
    cp_free(s->mean);
    cp_free(s->sd);
    cp_free(s->log1p);
    memset(s, 0, sizeof(*s));
}

static double sigmoid(double z)
{
    if (z >= 0) return 1 / (1 + exp(-z));
    double e = exp(z);
    return e / (1 + e);
}

double cp_logreg_predict(const cp_logreg *m, const double *row)
{
    double z = m->w[m->d];
    for (size_t f = 0; f < m->d; f++) z += m->w[f] * row[f];
    return sigmoid(z);
}

/* Solves a·x = b for a symmetric positive definite a (D×D, overwritten); x into b. */
static int cholesky_solve(double *a, double *b, size_t D)
{
    for (size_t j = 0; j < D; j++) {
        double v = a[j * D + j];
        for (size_t q = 0; q < j; q++) v -= a[j * D + q] * a[j * D + q];
        if (v <= 0) return CP_ERANGE;
        a[j * D + j] = sqrt(v);
        for (size_t i = j + 1; i < D; i++) {
            double w = a[i * D + j];
            for (size_t q = 0; q < j; q++) w -= a[i * D + q] * a[j * D + q];
            a[i * D + j] = w / a[j * D + j];
        }
    }
    for (size_t i = 0; i < D; i++) { /* L y = b */
        for (size_t q = 0; q < i; q++) b[i] -= a[i * D + q] * b[q];
        b[i] /= a[i * D + i];
    }
    for (size_t i = D; i-- > 0;) { /* Lᵀ x = y */
        for (size_t q = i + 1; q < D; q++) b[i] -= a[q * D + i] * b[q];
        b[i] /= a[i * D + i];
    }
    return CP_OK;
}

/* The gradient g and Hessian h of the averaged, penalised loss at m->w. */
static void newton_terms(const cp_logreg *m, const double *x, const uint8_t *y, size_t n, double l2,
                         double *g, double *h)
{
    size_t d = m->d, D = d + 1;
    memset(g, 0, D * sizeof(double));
    memset(h, 0, D * D * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        const double *xi = x + i * d;
        double p = cp_logreg_predict(m, xi), r = p - (y[i] ? 1 : 0), w = p * (1 - p);
        for (size_t a = 0; a < D; a++) {
            double xa = a < d ? xi[a] : 1;
            g[a] += r * xa;
            for (size_t b = 0; b <= a; b++) h[a * D + b] += w * xa * (b < d ? xi[b] : 1);
        }
    }
    for (size_t a = 0; a < D; a++) {
        g[a] /= (double)n;
        for (size_t b = 0; b <= a; b++) h[b * D + a] = h[a * D + b] /= (double)n;
        if (a < d) {
            g[a] += l2 * m->w[a];
            h[a * D + a] += l2;
        }
        h[a * D + a] += 1e-10; /* keeps a separable intercept solvable */
    }
}

int cp_logreg_fit(const double *x, const uint8_t *y, size_t n, size_t d, double l2, cp_logreg *m)
{
    memset(m, 0, sizeof(*m));
    if (!n || !d || l2 < 0) return CP_EINVAL;
    size_t D = d + 1;
    m->d = d;
    m->w = cp_calloc(D, sizeof(double));
    double *g = cp_calloc(D, sizeof(double)), *h = cp_calloc(D * D, sizeof(double));
    int rc = m->w && g && h ? CP_OK : CP_ENOMEM;
    for (int it = 0; rc == CP_OK && it < 100; it++) {
        newton_terms(m, x, y, n, l2, g, h);
        rc = cholesky_solve(h, g, D);
        double step = 0, cap = 1;
        for (size_t a = 0; rc == CP_OK && a < D; a++)
            if (fabs(g[a]) > 10 / cap) cap = 10 / fabs(g[a]); /* damped: at most 10 a step */
        for (size_t a = 0; rc == CP_OK && a < D; a++) {
            m->w[a] -= cap * g[a];
            if (fabs(cap * g[a]) > step) step = fabs(cap * g[a]);
        }
        m->iterations = it + 1;
        if (step < 1e-10) break;
    }
    cp_free(g);
    cp_free(h);
    if (rc) cp_logreg_free(m);
    return rc;
}

void cp_logreg_free(cp_logreg *m)
{
    cp_free(m->w);
    m->w = NULL;
}

/* src/ml/linear.c: the scaler's exact means and deviations, log1p, constant
 * features and its inverse; logistic regression recovering known weights, a
 * zero gradient at its optimum, and the shrinking of L2. */
#include "clickpulse/error.h"
#include "clickpulse/ml.h"
#include "test.h"

#include <math.h>

static void test_scaler(void)
{
    double x[] = {1, 5, 0, 3, 5, 0, 5, 5, 0}; /* three rows, three features */
    const uint8_t logf[] = {0, 0, 1};
    cp_scaler s;
    CHECK_INT(cp_scaler_fit(&s, x, 3, 3, logf), CP_OK);
    CHECK_NEAR(s.mean[0], 3, 1e-12);
    CHECK_NEAR(s.sd[0], sqrt(8.0 / 3.0), 1e-12);
    CHECK_NEAR(s.sd[1], 1, 0); /* constant */
    cp_scaler_apply(&s, x, 3);
    CHECK_NEAR(x[0], -2 / sqrt(8.0 / 3.0), 1e-12);
    CHECK_NEAR(x[1], 0, 0);
    CHECK_NEAR(x[4], 0, 0);
    double row[] = {x[0], x[1], x[2]};
    cp_scaler_invert(&s, row);
    CHECK_NEAR(row[0], 1, 1e-12);
    CHECK_NEAR(row[1], 5, 1e-12);
    cp_scaler_free(&s);
    double y[] = {0, 0, 0, 0}; /* one feature, log1p: e-1 → 1, e²-1 → 2 */
    y[0] = exp(1) - 1, y[1] = exp(2) - 1, y[2] = exp(3) - 1, y[3] = exp(2) - 1;
    const uint8_t on[] = {1};
    CHECK_INT(cp_scaler_fit(&s, y, 4, 1, on), CP_OK);
    CHECK_NEAR(s.mean[0], 2, 1e-12);
    CHECK_NEAR(s.sd[0], sqrt(0.5), 1e-12);
    cp_scaler_apply(&s, y, 4);
    CHECK_NEAR(y[2], 1 / sqrt(0.5), 1e-12);
    cp_scaler_invert(&s, &y[2]);
    CHECK_NEAR(y[2], exp(3) - 1, 1e-9);
    cp_scaler_free(&s);
    CHECK_INT(cp_scaler_fit(&s, y, 0, 1, NULL), CP_EINVAL);
}

static uint64_t st = 12345;
static double unit(void)
{
    uint64_t z = (st += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

static void test_logreg(void)
{
    size_t n = 200000, d = 2;
    double *x = malloc(n * d * sizeof(double));
    uint8_t *y = malloc(n);
    for (size_t i = 0; i < n; i++) {
        x[i * 2] = unit() * 4 - 2;
        x[i * 2 + 1] = unit() * 4 - 2;
        double p = 1 / (1 + exp(-(2 * x[i * 2] - 1 * x[i * 2 + 1] + 0.5)));
        y[i] = unit() < p;
    }
    cp_logreg m;
    CHECK_INT(cp_logreg_fit(x, y, n, d, 0, &m), CP_OK);
    CHECK_NEAR(m.w[0], 2, 0.05);
    CHECK_NEAR(m.w[1], -1, 0.05);
    CHECK_NEAR(m.w[2], 0.5, 0.05);
    CHECK(m.iterations < 15);
    /* At the optimum of the penalised loss, its gradient is zero. */
    double lambda = 0.1;
    cp_logreg r;
    CHECK_INT(cp_logreg_fit(x, y, n, d, lambda, &r), CP_OK);
    double g[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double e = cp_logreg_predict(&r, x + i * 2) - y[i];
        g[0] += e * x[i * 2];
        g[1] += e * x[i * 2 + 1];
        g[2] += e;
    }
    CHECK_NEAR(g[0] / (double)n + lambda * r.w[0], 0, 1e-9);
    CHECK_NEAR(g[1] / (double)n + lambda * r.w[1], 0, 1e-9);
    CHECK_NEAR(g[2] / (double)n, 0, 1e-9);
    CHECK(fabs(r.w[0]) < fabs(m.w[0]) && fabs(r.w[1]) < fabs(m.w[1]));
    const double at[] = {0.25, 1};
    CHECK_NEAR(cp_logreg_predict(&m, at), 1 / (1 + exp(-(m.w[0] * 0.25 + m.w[1] + m.w[2]))), 1e-15);
    cp_logreg_free(&m);
    cp_logreg_free(&r);
    /* Separable data with a little L2 stays finite. */
    double xs[] = {-1, -2, 1, 2};
    uint8_t ys[] = {0, 0, 1, 1};
    CHECK_INT(cp_logreg_fit(xs, ys, 4, 1, 1e-3, &m), CP_OK);
    CHECK(isfinite(m.w[0]) && m.w[0] > 1);
    cp_logreg_free(&m);
    free(x);
    free(y);
}

int main(void)
{
    RUN(test_scaler);
    RUN(test_logreg);
    TEST_END();
}

/* src/ml/measures.c: silhouette, adjusted Rand index and ROC AUC on cases worked
 * out by hand. */
#include "clickpulse/ml.h"
#include "test.h"

static void test_silhouette(void)
{
    const double x[] = {0, 1, 10, 11};
    const int32_t l[] = {0, 0, 1, 1};
    CHECK_NEAR(cp_silhouette(x, 4, 1, l, 2), (9.5 / 10.5 + 8.5 / 9.5) / 2, 1e-12);
    const int32_t one[] = {0, 0, 0, 0};
    CHECK_NEAR(cp_silhouette(x, 4, 1, one, 1), 0, 0);
    const int32_t single[] = {0, 1, 1, 1}; /* a row alone scores 0 */
    /* x=1: a = mean(|1-10|, |1-11|) = 9.5 vs b = |1-0| = 1 → (1-9.5)/9.5;
     * x=10: a = mean(9, 1) = 5, b = 10 → 0.5; x=11: a = mean(10, 1) = 5.5, b = 11 → 0.5. */
    CHECK_NEAR(cp_silhouette(x, 4, 1, single, 2), (0 + (1 - 9.5) / 9.5 + 0.5 + 0.5) / 4, 1e-12);
}

static void test_adjusted_rand(void)
{
    const int32_t a[] = {0, 0, 1, 1}, b[] = {0, 0, 1, 2}, c[] = {0, 1, 0, 1}, d[] = {1, 1, 0, 0};
    CHECK_NEAR(cp_adjusted_rand(a, a, 4), 1, 1e-12);
    CHECK_NEAR(cp_adjusted_rand(a, d, 4), 1, 1e-12); /* the names of clusters do not matter */
    CHECK_NEAR(cp_adjusted_rand(a, b, 4), 4.0 / 7.0, 1e-12);
    CHECK_NEAR(cp_adjusted_rand(b, a, 4), 4.0 / 7.0, 1e-12);
    CHECK_NEAR(cp_adjusted_rand(a, c, 4), -0.5, 1e-12);
    const int32_t all[] = {0, 0, 0, 0}, each[] = {0, 1, 2, 3};
    CHECK_NEAR(cp_adjusted_rand(all, each, 4), 0, 1e-12);
}

static void test_auc(void)
{
    const double s[] = {0.1, 0.4, 0.35, 0.8};
    const uint8_t y[] = {0, 0, 1, 1};
    CHECK_NEAR(cp_auc(s, y, 4), 0.75, 1e-12);
    const double tie[] = {0.5, 0.5, 0.5, 0.9};
    const uint8_t yt[] = {0, 1, 0, 1}; /* positive 0.5 ties two negatives: half each */
    CHECK_NEAR(cp_auc(tie, yt, 4), (1.0 + 0.5) / 2, 1e-12);
    const uint8_t none[] = {0, 0, 0, 0};
    CHECK_NEAR(cp_auc(s, none, 4), 0.5, 0);
    const uint8_t perfect[] = {0, 1, 0, 1};
    CHECK_NEAR(cp_auc(s, perfect, 4), 1, 1e-12);
}

int main(void)
{
    RUN(test_silhouette);
    RUN(test_adjusted_rand);
    RUN(test_auc);
    TEST_END();
}

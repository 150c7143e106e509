/* src/ml/churn.c on three kinds of customer (shop.h): the churn scores separate the
 * customers gone since January from the active ones, with a held-out AUC of 1; the
 * stored weights; too little history and a bad setting refused. */
#include "clickpulse/ml.h"
#include "shop.h"
#include "test.h"

#include <string.h>

static void test_churn(void)
{
    cp_store *s = shop();
    CHECK(s != NULL);
    if (!s) return;
    cp_ml_options o;
    cp_ml_options_default(&o);
    o.lookback_days = 28;
    o.churn_days = 30;
    o.snapshot = 20573;
    cp_ml_report r;
    char err[512];
    CHECK_INT(cp_ml_churn(s, &o, &r, err, sizeof(err)), CP_OK);
    CHECK_INT(r.train_rows, 90);
    CHECK_INT(r.churned, 30);
    CHECK_NEAR(r.auc, 1, 0);
    CHECK_INT(r.customers, 90);
    rows g = query(s, "SELECT 'x', min(score) FILTER (right(user_id, 2)::INT % 3 = 2),"
                      " max(score) FILTER (right(user_id, 2)::INT % 3 <> 2) FROM churn_scores");
    CHECK(g.n == 1 && g.v[0][0] > 0.5 && g.v[0][1] < 0.5);
    rows w = query(s, "SELECT part, count(*)::DOUBLE FROM ml_model_values WHERE kind = 'churn'"
                      " AND part = 'weight' GROUP BY 1");
    CHECK(w.n == 1 && w.v[0][0] == 13); /* 12 weights and the intercept */
    o.snapshot = 20458;                 /* 2026-01-05: nobody was known 30 days before */
    CHECK_INT(cp_ml_churn(s, &o, &r, err, sizeof(err)), CP_ENOENT);
    CHECK(strstr(err, "not enough history") != NULL);
    o.churn_days = 0;
    CHECK_INT(cp_ml_churn(s, &o, &r, err, sizeof(err)), CP_EINVAL);
    cp_store_close(s);
}

int main(void)
{
    RUN(test_churn);
    TEST_END();
}

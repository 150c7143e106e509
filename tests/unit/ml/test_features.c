/* src/ml/features.c: every feature's exact value on a hand-made silver store (rates,
 * unknowns, the lookback and the snapshot's end), the churn label, and a model
 * stored and read back. */
#include "clickpulse/error.h"
#include "clickpulse/store.h"
#include "ml/internal.h"
#include "test.h"

#include <math.h>

static cp_store *silver(void)
{
    cp_store *s;
    char err[256];
    if (cp_store_open(":memory:", false, &s, err, sizeof(err))) return NULL;
    const char *sql =
        "INSERT INTO customers (user_id, first_seen) VALUES ('u1', '2026-01-01 00:00'),"
        " ('u2', '2026-01-08 12:00'), ('u3', '2026-01-12 00:00');"
        "INSERT INTO events (\"offset\", kind, user_id, event_time, is_bot, properties) VALUES"
        " (1, 'page', 'u1', '2026-01-02 08:00', false, '{}'),"
        " (2, 'product_viewed', 'u1', '2026-01-05 10:00', false, '{\"price\":10}'),"
        " (3, 'product_viewed', 'u1', '2026-01-06 10:00', false, '{\"price\":30}'),"
        " (4, 'product_added', 'u1', '2026-01-06 10:01', false, '{\"price\":30}'),"
        " (5, 'page', 'u1', '2026-01-09 12:00', false, '{}'),"
        " (6, 'page', 'u1', '2026-01-12 09:00', false, '{}'),"
        " (7, 'page', 'u1', '2026-01-09 20:00', true, '{}'),"
        " (8, 'page', 'u2', '2026-01-08 12:00', false, '{}'),"
        " (9, 'page', 'u3', '2026-01-12 10:00', false, '{}');"
        "INSERT INTO orders (\"offset\", order_id, user_id, event_time, revenue) VALUES"
        " (10, 'o1', 'u1', '2026-01-06 10:05', 50), (11, 'o0', 'u1', '2026-01-02 08:05', 70);"
        "INSERT INTO sessions (user_id, start_time, pageviews, is_bot, cart, purchase) VALUES"
        " ('u1', '2026-01-05 10:00', 3, false, false, false),"
        " ('u1', '2026-01-06 10:00', 5, false, true, true),"
        " ('u1', '2026-01-02 08:00', 9, false, true, false);"
        "UPDATE events SET event_date = CAST(event_time AS DATE);";
    if (cp_store_exec(s, sql, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        cp_store_close(s);
        return NULL;
    }
    return s;
}

static void test_features(void)
{
    cp_store *s = silver();
    CHECK(s != NULL);
    if (!s) return;
    ml_table t;
    char err[512];
    int32_t day = 20463; /* 2026-01-10 */
    CHECK_INT(ml_load_features(s, day, 7, 3, NULL, &t, err, sizeof(err)), CP_OK);
    CHECK_INT(t.n, 2);
    if (t.n == 2) {
        CHECK_SLICE(ml_table_id(&t, 0), "u1");
        CHECK_SLICE(ml_table_id(&t, 1), "u2");
        const double *u1 = t.x, *u2 = t.x + ML_N_FEATURES;
        CHECK_NEAR(u1[ML_RECENCY], 1.5, 1e-9);
        CHECK_NEAR(u1[ML_ORDERS], 1, 0);
        CHECK_NEAR(u1[ML_REVENUE], 50, 1e-9);
        CHECK_NEAR(u1[ML_AOV], 50, 1e-9);
        CHECK_NEAR(u1[ML_SESSIONS_PER_WEEK], 2, 1e-9);
        CHECK_NEAR(u1[ML_CONVERSION], 0.5, 1e-12);
        CHECK_NEAR(u1[ML_PAGES_PER_SESSION], 4, 1e-12);
        CHECK_NEAR(u1[ML_PRODUCT_VIEWS], 1, 1e-12);
        CHECK_NEAR(u1[ML_CART_ADDS], 0.5, 1e-12);
        CHECK_NEAR(u1[ML_CART_ABANDONMENT], 0, 0);
        CHECK_NEAR(u1[ML_VIEWED_PRICE], 20, 1e-9);
        CHECK_NEAR(u1[ML_TENURE], 10, 1e-9);
        CHECK_NEAR(u2[ML_RECENCY], 2.5, 1e-9);
        CHECK_NEAR(u2[ML_ORDERS], 0, 0);
        CHECK_NEAR(u2[ML_SESSIONS_PER_WEEK], 0, 0);
        CHECK(isnan(u2[ML_AOV]) && isnan(u2[ML_CONVERSION]) && isnan(u2[ML_PAGES_PER_SESSION]));
        CHECK(isnan(u2[ML_CART_ABANDONMENT]) && isnan(u2[ML_VIEWED_PRICE]));
        CHECK_NEAR(u2[ML_TENURE], 2.5, 1e-9);
        CHECK_INT(t.label[0], 0); /* u1 came back on the 12th */
        CHECK_INT(t.label[1], 1);
    }
    ml_table_free(&t);
    /* One customer only, by a bound parameter. */
    CHECK_INT(ml_load_features(s, day, 7, 0, "u2", &t, err, sizeof(err)), CP_OK);
    CHECK_INT(t.n, 1);
    ml_table_free(&t);
    CHECK_INT(ml_load_features(s, day, 7, 0, "u1' OR '1'='1", &t, err, sizeof(err)), CP_OK);
    CHECK_INT(t.n, 0);
    ml_table_free(&t);
    int32_t latest;
    CHECK_INT(ml_resolve_snapshot(s, INT32_MIN, &latest, err, sizeof(err)), CP_OK);
    CHECK_INT(latest, 20465); /* the day of the latest event, 2026-01-12 */
    CHECK_INT(ml_resolve_snapshot(s, 20000, &latest, err, sizeof(err)), CP_OK);
    CHECK_INT(latest, 20000);
    cp_store_close(s);
}

static void test_model_round_trip(void)
{
    cp_store *s = silver();
    CHECK(s != NULL);
    if (!s) return;
    char err[512];
    double x[] = {1, 10, 3, 30, 5, 50, 7, 70, 9, 90, 11, 110};
    ml_model m = {.rows = (double[]){0.5, -0.5, 1.5, 2.5, -1, 3}, .n_rows = 2, .lookback = 28};
    CHECK_INT(cp_scaler_fit(&m.sc, x, 2, 6, (const uint8_t[]){1, 0, 1, 0, 1, 0}), CP_OK);
    CHECK_INT(cp_store_exec(s, "BEGIN TRANSACTION", err, sizeof(err)), CP_OK);
    CHECK_INT(ml_model_store(s, "kmeans", 20463, ml_clustered, &m, "centroid", 3, "{}"), CP_OK);
    CHECK_INT(cp_store_exec(s, "COMMIT", err, sizeof(err)), CP_OK);
    ml_model back;
    CHECK_INT(ml_model_load(s, "kmeans", 20463, 6, &back, err, sizeof(err)), CP_OK);
    CHECK_INT(back.n_rows, 2);
    CHECK_INT(back.lookback, 28);
    for (int i = 0; i < 6; i++) {
        CHECK_NEAR(back.sc.mean[i], m.sc.mean[i], 0);
        CHECK_NEAR(back.sc.sd[i], m.sc.sd[i], 0);
        CHECK_INT(back.sc.log1p[i], m.sc.log1p[i]);
    }
    /* width 3 of the 6 features: rows were stored as 2 × 3 values */
    for (int i = 0; i < 6 && back.rows; i++)
        CHECK_NEAR(back.rows[(i / 3) * 6 + i % 3], m.rows[i], 0);
    ml_model_free(&back);
    int32_t at;
    CHECK_INT(ml_model_snapshot(s, "kmeans", 20470, 1, &at, err, sizeof(err)), CP_OK);
    CHECK_INT(at, 20463);
    CHECK_INT(ml_model_snapshot(s, "kmeans", 20463, 0, &at, err, sizeof(err)), CP_ENOENT);
    CHECK_INT(ml_model_load(s, "churn", 20463, 6, &back, err, sizeof(err)), CP_ENOENT);
    cp_scaler_free(&m.sc);
    cp_store_close(s);
}

int main(void)
{
    RUN(test_features);
    RUN(test_model_round_trip);
    TEST_END();
}

/* src/ml/segment.c on three kinds of customer (shop.h): the segments are exactly the
 * kinds, with the labels their profiles earn, exact profiles, ids kept from one snapshot
 * to the next (no movement), the stored model, re-runs that replace, and a customer
 * placed by the model. */
#include "clickpulse/error.h"
#include "clickpulse/ml.h"
#include "clickpulse/store.h"
#include "shop.h"
#include "test.h"

#include <math.h>

static void test_segments(void)
{
    cp_store *s = shop();
    CHECK(s != NULL);
    if (!s) return;
    cp_ml_options o;
    cp_ml_options_default(&o);
    o.k = 3;
    o.lookback_days = 28;
    o.snapshot = 20566; /* 2026-0423 */
    cp_ml_report r;
    char err[512];
    CHECK_INT(cp_ml_segment(s, &o, &r, err, sizeof(err)), CP_OK);
    CHECK_INT(r.customers, 90);
    CHECK_INT(r.k, 3);
    CHECK_NEAR(r.inertia, 0, 1e-9);
    CHECK_INT(r.previous, INT32_MIN);
    o.snapshot = 20573; /* 2026-04-30 */
    CHECK_INT(cp_ml_segment(s, &o, &r, err, sizeof(err)), CP_OK);
    CHECK_INT(r.previous, 20566);
    CHECK_INT(r.moved, 0);
    /* Each kind is one segment: per label, its customers and their kinds. */
    rows g = query(s, "SELECT label, count(*)::DOUBLE, min(right(user_id, 2)::INT % 3)::DOUBLE,"
                      " max(right(user_id, 2)::INT % 3)::DOUBLE FROM customer_segments"
                      " WHERE snapshot = DATE '2026-04-30' GROUP BY 1 ORDER BY 1");
    CHECK_INT(g.n, 3);
    CHECK_STR(g.key[0], "bargain hunters");
    CHECK_STR(g.key[1], "high-value loyal");
    CHECK_STR(g.key[2], "lapsed");
    for (int i = 0; i < g.n; i++) {
        CHECK_NEAR(g.v[i][0], 30, 0);
        CHECK_NEAR(g.v[i][1], g.v[i][2], 0); /* one kind a segment */
    }
    CHECK_NEAR(g.v[0][1], 1, 0);
    CHECK_NEAR(g.v[1][1], 0, 0);
    CHECK_NEAR(g.v[2][1], 2, 0);
    rows p = query(s, "SELECT label, orders, revenue, avg_viewed_price FROM cluster_profiles"
                      " WHERE snapshot = DATE '2026-04-30' ORDER BY label");
    CHECK_INT(p.n, 3);
    CHECK_NEAR(p.v[1][0], 4, 1e-12); /* high-value loyal: 4 orders of 200 in 28 days */
    CHECK_NEAR(p.v[1][1], 800, 1e-9);
    CHECK_NEAR(p.v[1][2], 100, 1e-9);
    CHECK_NEAR(p.v[0][2], 5, 1e-9);
    CHECK(isnan(p.v[2][2])); /* the lapsed viewed nothing in the lookback */
    rows t = query(s, "SELECT from_label, customers::DOUBLE, (from_cluster = to_cluster)::DOUBLE"
                      " FROM cluster_transitions ORDER BY 1");
    CHECK_INT(t.n, 3);
    for (int i = 0; i < t.n; i++) {
        CHECK_NEAR(t.v[i][0], 30, 0);
        CHECK_NEAR(t.v[i][1], 1, 0);
    }
    rows m = query(s, "SELECT part, count(*)::DOUBLE FROM ml_model_values WHERE kind = 'kmeans'"
                      " AND snapshot = DATE '2026-04-30' GROUP BY 1 ORDER BY 1");
    CHECK_INT(m.n, 5); /* centroid, log1p, lookback, mean, sd */
    CHECK_STR(m.key[0], "centroid");
    CHECK_NEAR(m.v[0][0], 18, 0);
    /* Running the snapshot again replaces its rows. */
    CHECK_INT(cp_ml_segment(s, &o, &r, err, sizeof(err)), CP_OK);
    rows c = query(s, "SELECT 'n', count(*)::DOUBLE FROM customer_segments");
    CHECK_NEAR(c.v[0][0], 180, 0);
    int cluster;
    char label[64];
    CHECK_INT(cp_ml_place(s, "u000", INT32_MIN, &cluster, label, sizeof(label), err, sizeof(err)),
              CP_OK);
    CHECK_STR(label, "high-value loyal");
    CHECK_INT(cp_ml_place(s, "nobody", INT32_MIN, &cluster, label, sizeof(label), err, sizeof(err)),
              CP_ENOENT);
    cp_store_close(s);
}

int main(void)
{
    RUN(test_segments);
    TEST_END();
}

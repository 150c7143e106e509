/* The dashboard's pages as data: each page is a set of named datasets, each one
 * read-only statement over silver, gold and the ML tables. Every statement takes the
 * same parameters — $1 first day, $2 last day, $3 country, $4 device, $5 traffic
 * source (NULL: all) — bound, never spliced into the text. The filters mean the same
 * on every page: a session by its own country, device and source; an event or an
 * order by the session it belongs to — its identity's latest session to start at or
 * before it — (an order's country is the one it carries); a customer by their country
 * and the device and source of their first session.
 * Sessions are people's (no bots, at least one page view), as in the gold marts. */
#include "pages.h"

#include "clickpulse/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Created on every reader connection: the filtered base tables the pages read. */
const char http_pages_init_sql[] =
    "CREATE OR REPLACE TEMP MACRO cp_is(v, want) AS want IS NULL OR v = want;"

    "CREATE OR REPLACE TEMP MACRO cp_sess(p_d0, p_d1, p_country, p_device, p_source) AS TABLE"
    " SELECT * FROM (SELECT *, coalesce(country, 'unknown') AS f_country,"
    "  coalesce(device_type, 'unknown') AS f_device, coalesce(utm_source, '(direct)') AS f_source"
    "  FROM sessions WHERE NOT is_bot AND pageviews > 0 AND start_date BETWEEN p_d0 AND p_d1)"
    " WHERE cp_is(f_country, p_country) AND cp_is(f_device, p_device)"
    "  AND cp_is(f_source, p_source);"

    /* an event's session: the identity's latest to start at or before it */
    "CREATE OR REPLACE TEMP MACRO cp_orders(p_d0, p_d1, p_country, p_device, p_source) AS TABLE"
    " SELECT * FROM (SELECT o.*, s.session_id, s.landing_path,"
    "  coalesce(o.country, 'unknown') AS f_country, coalesce(s.device_type, 'unknown') AS f_device,"
    "  coalesce(s.utm_source, '(direct)') AS f_source"
    "  FROM (SELECT o.*, e.identity FROM orders_reporting o"
    "   LEFT JOIN events e ON e.\"offset\" = o.\"offset\" AND e.message_id = o.message_id"
    "    AND e.event_date BETWEEN p_d0 AND p_d1"
    "   WHERE o.event_date BETWEEN p_d0 AND p_d1) o"
    "  ASOF LEFT JOIN sessions s ON o.identity = s.identity AND o.event_time >= s.start_time)"
    " WHERE cp_is(f_country, p_country) AND cp_is(f_device, p_device)"
    "  AND cp_is(f_source, p_source);"

    /* a refund by the day it was made, and by its order: the order's country, the device and
     * source of the order's session (a refund of an unknown order: its own country) */
    "CREATE OR REPLACE TEMP MACRO cp_refunds(p_d0, p_d1, p_country, p_device, p_source) AS TABLE"
    " SELECT * FROM (SELECT f.*, coalesce(f.order_country, f.country, 'unknown') AS f_country,"
    "  coalesce(s.device_type, 'unknown') AS f_device,"
    "  coalesce(s.utm_source, '(direct)') AS f_source"
    "  FROM (SELECT f.*, o.country AS order_country, o.event_time AS order_time,"
    "   coalesce(o.anonymous_id, o.user_id) AS order_identity FROM refunds_reporting f"
    "   LEFT JOIN orders o USING (order_id) WHERE f.event_date BETWEEN p_d0 AND p_d1) f"
    "  ASOF LEFT JOIN sessions s ON f.order_identity = s.identity"
    "   AND f.order_time >= s.start_time)"
    " WHERE cp_is(f_country, p_country) AND cp_is(f_device, p_device)"
    "  AND cp_is(f_source, p_source);"

    "CREATE OR REPLACE TEMP MACRO cp_events(p_d0, p_d1, p_country, p_device, p_source) AS TABLE"
    " SELECT * FROM (SELECT e.*, s.session_id AS f_session,"
    "  coalesce(s.country, e.country, 'unknown') AS f_country,"
    "  coalesce(s.device_type, e.device_type, 'unknown') AS f_device,"
    "  coalesce(s.utm_source, '(direct)') AS f_source"
    "  FROM (SELECT * FROM events WHERE event_date BETWEEN p_d0 AND p_d1"
    "   AND NOT coalesce(is_bot, false)) e"
    "  ASOF LEFT JOIN sessions s ON e.identity = s.identity AND e.event_time >= s.start_time)"
    " WHERE cp_is(f_country, p_country) AND cp_is(f_device, p_device)"
    "  AND cp_is(f_source, p_source);"

    /* every customer with the acquisition of their first session (theirs, or of a device
     * linked to them: the anonymous first visit) */
    "CREATE OR REPLACE TEMP MACRO cp_customer_dims() AS TABLE"
    " WITH first_session AS (SELECT person AS user_id,"
    "  arg_min_null(utm_source, start_time) AS utm_source,"
    "  arg_min_null(utm_medium, start_time) AS utm_medium,"
    "  arg_min_null(utm_campaign, start_time) AS utm_campaign,"
    "  arg_min_null(device_type, start_time) AS device_type"
    "  FROM (SELECT s.*, coalesce(s.user_id, m.user_id) AS person FROM sessions s"
    "   LEFT JOIN identity_map m ON m.anonymous_id = s.identity)"
    "  WHERE NOT is_bot AND pageviews > 0 AND person IS NOT NULL GROUP BY 1)"
    " SELECT c.user_id, c.first_seen, c.last_seen, coalesce(c.country, 'unknown') AS f_country,"
    "  coalesce(f.device_type, 'unknown') AS f_device, coalesce(f.utm_source, '(direct)') AS "
    "f_source,"
    "  coalesce(f.utm_medium, '(none)') AS utm_medium,"
    "  coalesce(f.utm_campaign, '(none)') AS utm_campaign"
    " FROM customers c LEFT JOIN first_session f USING (user_id);"

    /* customers first seen in the range */
    "CREATE OR REPLACE TEMP MACRO cp_new_customers(p_d0, p_d1, p_country, p_device, p_source)"
    " AS TABLE SELECT CAST(first_seen AS DATE) AS day, * FROM cp_customer_dims()"
    " WHERE CAST(first_seen AS DATE) BETWEEN p_d0 AND p_d1 AND cp_is(f_country, p_country)"
    "  AND cp_is(f_device, p_device) AND cp_is(f_source, p_source);"

    /* customers seen during the range */
    "CREATE OR REPLACE TEMP MACRO cp_people(p_d0, p_d1, p_country, p_device, p_source) AS TABLE"
    " SELECT * FROM cp_customer_dims()"
    " WHERE CAST(first_seen AS DATE) <= p_d1 AND CAST(last_seen AS DATE) >= p_d0"
    "  AND cp_is(f_country, p_country) AND cp_is(f_device, p_device)"
    "  AND cp_is(f_source, p_source);"

    "CREATE OR REPLACE TEMP MACRO cp_kpis(p_d0, p_d1, p_country, p_device, p_source) AS TABLE"
    " SELECT s.sessions, s.visitors, s.conversion, o.orders, o.revenue, o.avg_order_value,"
    "  o.buyers, n.new_customers"
    " FROM (SELECT count(*) AS sessions, count(DISTINCT identity) AS visitors,"
    "   ratio_round(count(*) FILTER (purchase), count(*), 4) AS conversion"
    "   FROM cp_sess(p_d0, p_d1, p_country, p_device, p_source)) s,"
    "  (SELECT count(*) AS orders, coalesce(sum(revenue), 0) AS revenue,"
    "   money_avg(sum(revenue), count(revenue)) AS avg_order_value,"
    "   count(DISTINCT user_id) AS buyers"
    "   FROM cp_orders(p_d0, p_d1, p_country, p_device, p_source)) o,"
    "  (SELECT count(*) AS new_customers"
    "   FROM cp_new_customers(p_d0, p_d1, p_country, p_device, p_source)) n;"

    /* the latest segmentation snapshot in the range, and the one before it */
    "CREATE OR REPLACE TEMP MACRO cp_snapshots(p_d0, p_d1) AS TABLE"
    " SELECT cur, (SELECT max(snapshot) FROM cluster_profiles WHERE snapshot < cur) AS prev"
    " FROM (SELECT max(snapshot) AS cur FROM cluster_profiles"
    "  WHERE snapshot BETWEEN p_d0 AND p_d1);";

#define D0    "CAST($1 AS DATE)"
#define D1    "CAST($2 AS DATE)"
#define C     "CAST($3 AS VARCHAR)"
#define DV    "CAST($4 AS VARCHAR)"
#define SRC   "CAST($5 AS VARCHAR)"
#define DIMS  C ", " DV ", " SRC
#define ARGS  D0 ", " D1 ", " DIMS
#define PREV0 D0 " - CAST(" D1 " - " D0 " + 1 AS INTEGER)"
#define PREV1 D0 " - 1"
/* a customer's dimensions against the filters (x: cp_customer_dims, may be NULL) */
#define CUSTOMER_MATCH                                                                             \
    " cp_is(x.f_country, " C ") AND cp_is(x.f_device, " DV ") AND cp_is(x.f_source, " SRC ")"
/* the funnel's steps, strict: a step counts when every one before it was reached */
#define FUNNEL_COUNTS                                                                              \
    " count(*) AS sessions, count(*) FILTER (product_view) AS product_view,"                       \
    " count(*) FILTER (product_view AND cart) AS cart,"                                            \
    " count(*) FILTER (product_view AND cart AND checkout) AS checkout,"                           \
    " count(*) FILTER (product_view AND cart AND checkout AND purchase) AS purchase,"              \
    " ratio_round(count(*) FILTER (purchase), count(*), 4) AS conversion"
/* sessions with a purchase, and the orders, by one dimension (f_source, f_device) */
#define CONVERSION_BY(dim, name)                                                                   \
    "WITH s AS (SELECT " dim " AS " name ", count(*) AS sessions,"                                 \
    " count(*) FILTER (purchase) AS converted FROM cp_sess(" ARGS ") GROUP BY 1),"                 \
    " o AS (SELECT " dim " AS " name ", count(*) AS orders,"                                       \
    " sum(revenue) AS revenue FROM cp_orders(" ARGS ") GROUP BY 1)"                                \
    " SELECT " name ", coalesce(sessions, 0) AS sessions, coalesce(converted, 0) AS converted,"    \
    " ratio_round(converted, sessions, 4) AS conversion, coalesce(orders, 0) AS orders,"           \
    " coalesce(revenue, 0) AS revenue,"                                                            \
    " money_avg(coalesce(revenue, 0), sessions) AS revenue_per_session"                            \
    " FROM s FULL JOIN o USING (" name ") ORDER BY sessions DESC NULLS LAST, " name
/* buckets (bucket, label, lo, hi: lo <= value < hi, hi NULL: no end) counted over col */
#define HISTOGRAM(values, col)                                                                     \
    "WITH b AS (SELECT * FROM (VALUES " values ") t(bucket, label, lo, hi)),"                      \
    " s AS (SELECT " col " AS v FROM cp_sess(" ARGS "))"                                           \
    " SELECT b.bucket, b.label, count(s.v) AS sessions FROM b"                                     \
    " LEFT JOIN s ON s.v >= b.lo AND (b.hi IS NULL OR s.v < b.hi)"                                 \
    " GROUP BY ALL ORDER BY b.bucket"

typedef struct dataset {
    const char *name, *sql;
} dataset;

/* ---- Overview ---- */
static const dataset overview_sets[] = {
    {"kpis", "SELECT 'current' AS period, " D0 " AS first_day, " D1 " AS last_day, *"
             " FROM cp_kpis(" ARGS ")"
             " UNION ALL SELECT 'previous', " PREV0 ", " PREV1 ", *"
             " FROM cp_kpis(" PREV0 ", " PREV1 ", " DIMS ") ORDER BY period"},
    {"daily",
     "WITH days AS (SELECT CAST(d AS DATE) AS day"
     "  FROM generate_series(" D0 ", " D1 ", INTERVAL 1 DAY) t(d)),"
     " s AS (SELECT start_date AS day, count(*) AS sessions FROM cp_sess(" ARGS ") GROUP BY 1),"
     " o AS (SELECT event_date AS day, count(*) AS orders, sum(revenue) AS revenue"
     "  FROM cp_orders(" ARGS ") GROUP BY 1)"
     " SELECT day, coalesce(s.sessions, 0) AS sessions, coalesce(o.orders, 0) AS orders,"
     " coalesce(o.revenue, 0) AS revenue"
     " FROM days LEFT JOIN s USING (day) LEFT JOIN o USING (day) ORDER BY day"},
};

/* ---- Sales ---- */
static const dataset sales_sets[] = {
    {"totals",
     "WITH o AS (SELECT count(*) AS orders, coalesce(sum(units), 0) AS units,"
     "  coalesce(sum(revenue), 0) AS revenue, count(DISTINCT user_id) AS customers,"
     "  money_avg(sum(revenue), count(revenue)) AS avg_order_value FROM cp_orders(" ARGS ")),"
     " f AS (SELECT count(*) AS refund_count, coalesce(sum(amount), 0) AS refunds"
     "  FROM cp_refunds(" ARGS "))"
     " SELECT o.*, f.refund_count, f.refunds, o.revenue - f.refunds AS net_revenue FROM o, f"},
    {"daily",
     "WITH o AS (SELECT event_date AS day, count(*) AS orders, sum(units) AS units,"
     "  sum(revenue) AS revenue, count(DISTINCT user_id) AS customers,"
     "  money_avg(sum(revenue), count(revenue)) AS avg_order_value"
     "  FROM cp_orders(" ARGS ") GROUP BY 1),"
     " f AS (SELECT event_date AS day, count(*) AS refund_count, sum(amount) AS refunds"
     "  FROM cp_refunds(" ARGS ") GROUP BY 1)"
     " SELECT day, coalesce(orders, 0) AS orders, coalesce(units, 0) AS units,"
     " coalesce(revenue, 0) AS revenue, coalesce(customers, 0) AS customers, avg_order_value,"
     " coalesce(refund_count, 0) AS refund_count, coalesce(refunds, 0) AS refunds,"
     " coalesce(revenue, 0) - coalesce(refunds, 0) AS net_revenue"
     " FROM o FULL JOIN f USING (day) ORDER BY day"},
};

/* ---- Acquisition ---- */
static const dataset acquisition_sets[] = {
    {"totals", "SELECT count(*) AS new_customers FROM cp_new_customers(" ARGS ")"},
    {"daily",
     "SELECT day, count(*) AS new_customers FROM cp_new_customers(" ARGS ") GROUP BY 1 ORDER BY 1"},
    {"monthly", "SELECT CAST(date_trunc('month', day) AS DATE) AS month, count(*) AS new_customers"
                " FROM cp_new_customers(" ARGS ") GROUP BY 1 ORDER BY 1"},
    {"campaigns",
     "SELECT f_source AS utm_source, utm_medium, utm_campaign, count(*) AS new_customers"
     " FROM cp_new_customers(" ARGS ") GROUP BY ALL"
     " ORDER BY new_customers DESC, utm_source, utm_medium, utm_campaign LIMIT 100"},
};

/* ---- Countries ---- */
static const dataset countries_sets[] = {
    {"countries",
     "WITH o AS (SELECT f_country AS country, count(*) AS orders, count(revenue) AS priced,"
     "  sum(revenue) AS revenue, count(DISTINCT user_id) AS customers"
     "  FROM cp_orders(" ARGS ") GROUP BY 1),"
     " s AS (SELECT f_country AS country, count(*) AS sessions,"
     "  count(*) FILTER (purchase) AS converted FROM cp_sess(" ARGS ") GROUP BY 1)"
     " SELECT country, coalesce(orders, 0) AS orders, coalesce(revenue, 0) AS revenue,"
     " coalesce(customers, 0) AS customers, money_avg(revenue, priced) AS "
     "avg_order_value,"
     " coalesce(sessions, 0) AS sessions, ratio_round(converted, sessions, 4) AS conversion"
     " FROM o FULL JOIN s USING (country) ORDER BY revenue DESC NULLS LAST, country"},
};

/* ---- Funnel ---- */
static const dataset funnel_sets[] = {
    {"steps", "WITH s AS (SELECT" FUNNEL_COUNTS " FROM cp_sess(" ARGS ")),"
              " t AS (SELECT unnest([1, 2, 3, 4, 5]) AS step,"
              "  unnest(['Session', 'Product view', 'Cart', 'Checkout', 'Purchase']) AS name,"
              "  unnest([sessions, product_view, cart, checkout, purchase]) AS n,"
              "  unnest([sessions, sessions, product_view, cart, checkout]) AS previous,"
              "  sessions AS first FROM s)"
              " SELECT step, name, n AS sessions, ratio_round(n, first, 4) AS of_start,"
              " ratio_round(n, previous, 4) AS of_previous, previous - n AS dropped"
              " FROM t ORDER BY step"},
    {"by_device", "SELECT f_device AS device," FUNNEL_COUNTS " FROM cp_sess(" ARGS ")"
                  " GROUP BY 1 ORDER BY sessions DESC, 1"},
    {"by_source", "SELECT f_source AS source," FUNNEL_COUNTS " FROM cp_sess(" ARGS ")"
                  " GROUP BY 1 ORDER BY sessions DESC, 1"},
};

/* ---- Sessions ---- */
static const dataset sessions_sets[] = {
    {"totals", "SELECT count(*) AS sessions, count(DISTINCT identity) AS visitors,"
               " ratio_round(sum(ms_of(duration_s)), 1000 * count(*), 1) AS avg_duration_s,"
               " ratio_round(CAST(2 * median(ms_of(duration_s)) AS HUGEINT), 2000, 1) AS "
               "median_duration_s, ratio_round(sum(events), count(*), 2) AS avg_events,"
               " ratio_round(sum(pageviews), count(*), 2) AS avg_pageviews,"
               " ratio_round(count(*) FILTER (pageviews = 1), count(*), 4) AS bounce_rate"
               " FROM cp_sess(" ARGS ")"},
    {"active",
     "WITH days AS (SELECT CAST(d AS DATE) AS day"
     "  FROM generate_series(" D0 ", " D1 ", INTERVAL 1 DAY) t(d)),"
     " s AS (SELECT DISTINCT start_date, identity FROM cp_sess(" D0 " - 29, " D1 ", " DIMS "))"
     " SELECT day, count(DISTINCT identity) FILTER (start_date = day) AS dau,"
     " count(DISTINCT identity) FILTER (start_date > day - 7) AS wau,"
     " count(DISTINCT identity) AS mau"
     " FROM days LEFT JOIN s ON s.start_date BETWEEN day - 29 AND day GROUP BY 1 ORDER BY 1"},
    {"duration", HISTOGRAM("(1, '< 10 s', 0, 10), (2, '10-30 s', 10, 30), (3, '30-60 s', 30, 60),"
                           " (4, '1-3 min', 60, 180), (5, '3-10 min', 180, 600),"
                           " (6, '10-30 min', 600, 1800), (7, '30 min +', 1800, NULL)",
                           "duration_s")},
    {"events",
     HISTOGRAM("(1, '1', 1, 2), (2, '2', 2, 3), (3, '3', 3, 4), (4, '4', 4, 5), (5, '5', 5, 6),"
               " (6, '6-10', 6, 11), (7, '11-20', 11, 21), (8, '21 +', 21, NULL), (0, '0', 0, 1)",
               "events")},
};

/* ---- Content ---- */
static const dataset content_sets[] = {
    {"pages", "SELECT coalesce(page_path, '(none)') AS page_path, count(*) AS pageviews,"
              " count(DISTINCT identity) AS visitors"
              " FROM cp_events(" ARGS ") WHERE kind = 'page'"
              " GROUP BY 1 ORDER BY pageviews DESC, page_path LIMIT 50"},
    {"categories",
     "WITH v AS (SELECT coalesce(json_extract_string(properties, '$.category'), '(none)')"
     "  AS category, count(*) AS product_views, count(DISTINCT identity) AS viewers"
     "  FROM cp_events(" ARGS ") WHERE kind = 'product_viewed' GROUP BY 1),"
     " b AS (SELECT coalesce(i.category, '(none)') AS category, sum(i.quantity) AS units,"
     "  sum(CAST(round(CAST(i.price * i.quantity AS DECIMAL(38,2)) * o.rate, 2) AS DECIMAL(38,2))) "
     "AS revenue, count(DISTINCT o.user_id) AS buyers"
     "  FROM order_items i JOIN cp_orders(" ARGS ") o"
     "  ON o.\"offset\" = i.\"offset\" AND o.order_id = i.order_id GROUP BY 1)"
     " SELECT category, coalesce(product_views, 0) AS product_views,"
     " coalesce(viewers, 0) AS viewers, coalesce(units, 0) AS units,"
     " coalesce(revenue, 0) AS revenue, coalesce(buyers, 0) AS buyers,"
     " ratio_round(coalesce(units, 0), product_views, 4) AS units_per_view"
     " FROM v FULL JOIN b USING (category)"
     " ORDER BY revenue DESC NULLS LAST, product_views DESC, category"},
    {"products",
     "WITH v AS (SELECT json_extract_string(properties, '$.product_id') AS product_id,"
     "  min(json_extract_string(properties, '$.name')) AS name, count(*) AS views"
     "  FROM cp_events(" ARGS ") WHERE kind = 'product_viewed' GROUP BY 1),"
     " b AS (SELECT i.product_id, min(i.name) AS name, sum(i.quantity) AS units,"
     "  sum(CAST(round(CAST(i.price * i.quantity AS DECIMAL(38,2)) * o.rate, 2) AS DECIMAL(38,2))) "
     "AS revenue"
     "  FROM order_items i JOIN cp_orders(" ARGS ") o"
     "  ON o.\"offset\" = i.\"offset\" AND o.order_id = i.order_id GROUP BY 1)"
     " SELECT product_id, coalesce(b.name, v.name) AS name, coalesce(views, 0) AS views,"
     " coalesce(units, 0) AS units, coalesce(revenue, 0) AS revenue,"
     " ratio_round(coalesce(units, 0), views, 4) AS units_per_view"
     " FROM v FULL JOIN b USING (product_id)"
     " ORDER BY revenue DESC NULLS LAST, views DESC, product_id LIMIT 50"},
};

/* ---- Conversion ---- */
static const dataset conversion_sets[] = {
    {"by_source", CONVERSION_BY("f_source", "source")},
    {"by_device", CONVERSION_BY("f_device", "device")},
    {"by_landing",
     "SELECT coalesce(landing_path, '(none)') AS landing_path, count(*) AS sessions,"
     " count(*) FILTER (purchase) AS converted,"
     " ratio_round(count(*) FILTER (purchase), count(*), 4) AS conversion"
     " FROM cp_sess(" ARGS ") GROUP BY 1 ORDER BY sessions DESC, landing_path LIMIT 30"},
};

/* ---- Customers ---- */
static const dataset customers_sets[] = {
    {"segments",
     "SELECT d.segment, count(*) AS customers,"
     " ratio_round(count(*), sum(count(*)) OVER (), 4) AS share, sum(d.orders) AS orders,"
     " sum(d.total_spent) AS revenue,"
     " money_avg(sum(d.total_spent), sum(d.orders)) AS avg_order_value"
     " FROM gold.dim_customers d JOIN cp_people(" ARGS ") USING (user_id) GROUP BY 1"
     " ORDER BY CASE d.segment WHEN 'Frequent' THEN 1 WHEN 'Regular' THEN 2"
     " WHEN 'One-time' THEN 3 ELSE 4 END"},
    {"cohorts",
     "WITH o AS (SELECT user_id, event_time FROM cp_orders(" ARGS ") WHERE user_id IS NOT NULL),"
     " firsts AS (SELECT user_id, date_trunc('month', min(event_time)) AS cohort"
     "  FROM o GROUP BY 1),"
     " active AS (SELECT DISTINCT f.cohort, o.user_id,"
     "  datediff('month', f.cohort, date_trunc('month', o.event_time)) AS months_since"
     "  FROM o JOIN firsts f USING (user_id)),"
     " sizes AS (SELECT cohort, count(*) AS size FROM firsts GROUP BY 1)"
     " SELECT CAST(a.cohort AS DATE) AS cohort, a.months_since, count(*) AS customers,"
     " ratio_round(count(*), any_value(s.size), 4) AS retention"
     " FROM active a JOIN sizes s USING (cohort) GROUP BY 1, 2 ORDER BY 1, 2"},
    {"top", "SELECT d.user_id, d.name, d.country, d.segment, d.orders, d.total_spent,"
            " CAST(d.last_purchase AS DATE) AS last_purchase"
            " FROM gold.dim_customers d JOIN cp_people(" ARGS ") USING (user_id)"
            " ORDER BY d.total_spent DESC, d.user_id LIMIT 20"},
};

/* ---- Segments ---- */
static const dataset segments_sets[] = {
    {"profiles",
     "WITH snap AS (SELECT * FROM cp_snapshots(" D0 ", " D1 ")),"
     " f AS (SELECT c.cluster, count(*) AS n FROM customer_segments c CROSS JOIN snap"
     "  LEFT JOIN cp_customer_dims() x USING (user_id)"
     "  WHERE c.snapshot = snap.cur AND" CUSTOMER_MATCH " GROUP BY 1)"
     " SELECT p.snapshot, p.cluster, p.label, coalesce(f.n, 0) AS customers,"
     " p.customers AS model_customers, round(p.share, 4) AS share,"
     " round(p.recency_days, 1) AS recency_days, round(p.orders, 2) AS orders,"
     " round(p.revenue, 2) AS revenue, round(p.avg_order_value, 2) AS avg_order_value,"
     " round(p.sessions_per_week, 2) AS sessions_per_week,"
     " round(p.conversion_rate, 4) AS conversion_rate,"
     " round(p.pages_per_session, 2) AS pages_per_session,"
     " round(p.cart_abandonment, 4) AS cart_abandonment, round(p.tenure_days, 1) AS tenure_days"
     " FROM cluster_profiles p JOIN snap ON p.snapshot = snap.cur"
     " LEFT JOIN f USING (cluster) ORDER BY p.cluster"},
    {"movement",
     "WITH snap AS (SELECT * FROM cp_snapshots(" D0 ", " D1 "))"
     " SELECT snap.prev AS from_snapshot, snap.cur AS to_snapshot, p.cluster AS from_cluster,"
     " coalesce(p.label, 'new') AS from_label, c.cluster AS to_cluster, c.label AS to_label,"
     " count(*) AS customers"
     " FROM customer_segments c CROSS JOIN snap"
     " LEFT JOIN customer_segments p ON p.user_id = c.user_id AND p.snapshot = snap.prev"
     " LEFT JOIN cp_customer_dims() x ON x.user_id = c.user_id"
     " WHERE c.snapshot = snap.cur AND" CUSTOMER_MATCH
     " GROUP BY ALL ORDER BY customers DESC, from_label, to_label"},
    {"churn", "WITH snap AS (SELECT max(snapshot) AS cur FROM churn_scores"
              "  WHERE snapshot BETWEEN " D0 " AND " D1 ")"
              " SELECT s.risk, count(*) AS customers, round(avg(s.score), 4) AS avg_score"
              " FROM churn_scores s JOIN snap ON s.snapshot = snap.cur"
              " LEFT JOIN cp_customer_dims() x USING (user_id) WHERE" CUSTOMER_MATCH
              " GROUP BY 1 ORDER BY avg_score DESC"},
};

/* ---- Pipeline (the filters do not apply: these are the engine's own) ---- */
static const dataset pipeline_sets[] = {
    {"throughput",
     "WITH r AS ("
     "  SELECT date_trunc('hour', received_at) AS hour, 0 AS what FROM events"
     "   WHERE received_at >= " D0 " AND received_at < " D1 " + 1"
     "  UNION ALL SELECT date_trunc('hour', received_at), 1 FROM duplicates"
     "   WHERE received_at >= " D0 " AND received_at < " D1 " + 1"
     "  UNION ALL SELECT date_trunc('hour', received_at), 2 FROM dead_letters"
     "   WHERE received_at >= " D0 " AND received_at < " D1 " + 1)"
     " SELECT hour, count(*) AS received, count(*) FILTER (what = 0) AS written,"
     " count(*) FILTER (what = 1) AS duplicates, count(*) FILTER (what = 2) AS rejected"
     " FROM r GROUP BY 1 ORDER BY 1"},
    {"dead_letters", "SELECT reason, count(*) AS events, max(received_at) AS last_seen,"
                     " arg_max(detail, received_at) AS last_detail FROM dead_letters"
                     " WHERE received_at >= " D0 " AND received_at < " D1 " + 1"
                     " GROUP BY 1 ORDER BY events DESC, reason"},
    {"jobs", "SELECT job, started_at, ended_at, status, attempts, rows, error FROM job_runs"
             " WHERE started_at >= " D0 " AND started_at < " D1 " + 1"
             " ORDER BY started_at DESC, job LIMIT 50"},
};

/* ---- the filters' choices (no parameters) ---- */
static const dataset filters_sets[] = {
    {"values", "SELECT 'country' AS dim, f_country AS value, count(*) AS sessions"
               " FROM cp_sess(DATE '0001-01-01', DATE '9999-12-31', NULL, NULL, NULL) GROUP BY ALL"
               " UNION ALL SELECT 'device', f_device, count(*)"
               " FROM cp_sess(DATE '0001-01-01', DATE '9999-12-31', NULL, NULL, NULL) GROUP BY ALL"
               " UNION ALL SELECT 'source', f_source, count(*)"
               " FROM cp_sess(DATE '0001-01-01', DATE '9999-12-31', NULL, NULL, NULL) GROUP BY ALL"
               " ORDER BY dim, sessions DESC, value"},
    {"span", "SELECT min(event_date) AS first_day, max(event_date) AS last_day FROM events"},
};

#define PAGE(name)                                                                                 \
    {                                                                                              \
#name, name##_sets, sizeof(name##_sets) / sizeof(name##_sets[0])                           \
    }
static const struct page {
    const char *name;
    const dataset *sets;
    size_t n;
} pages[] = {
    PAGE(overview),  PAGE(sales),    PAGE(acquisition), PAGE(countries),
    PAGE(funnel),    PAGE(sessions), PAGE(content),     PAGE(conversion),
    PAGE(customers), PAGE(segments), PAGE(pipeline),    PAGE(filters),
};

static const struct page *page_named(const char *name)
{
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
        if (strcmp(pages[i].name, name) == 0) return &pages[i];
    return NULL;
}

int http_page_exists(const char *page)
{
    return page_named(page) != NULL;
}

int http_page_json(cp_store_reader *r, const char *page, const char *const params[HTTP_PAGE_PARAMS],
                   int timeout_ms, cp_buf *out)
{
    static const char *const names[HTTP_PAGE_PARAMS] = {"from", "to", "country", "device",
                                                        "source"};
    const struct page *pg = page_named(page);
    if (!pg) return CP_ENOENT;
    cp_buf_append_str(out, "{\"page\":");
    cp_buf_append_json_str(out, page, strlen(page));
    cp_buf_append_str(out, ",\"params\":{");
    for (size_t i = 0; i < HTTP_PAGE_PARAMS; i++) {
        cp_buf_append_str(out, i ? ",\"" : "\"");
        cp_buf_append_str(out, names[i]);
        cp_buf_append_str(out, "\":");
        if (params[i])
            cp_buf_append_json_str(out, params[i], strlen(params[i]));
        else
            cp_buf_append_str(out, "null");
    }
    cp_buf_append_str(out, "},\"datasets\":{");
    cp_buf errors;
    cp_buf_init(&errors);
    int first = 1;
    for (size_t i = 0; i < pg->n; i++) {
        const dataset *d = &pg->sets[i];
        char *text = NULL, err[1024];
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        if (!mem) return CP_ENOMEM;
        cp_query_args a = {.format = CP_QUERY_JSON,
                           .params = params,
                           .nparams = HTTP_PAGE_PARAMS,
                           .timeout_ms = timeout_ms};
        int rc = cp_store_reader_query(r, d->sql, &a, mem, err, sizeof(err));
        fclose(mem);
        cp_buf *to = rc ? &errors : out;
        cp_buf_append_str(to, (rc ? errors.len : !first) ? ",\"" : "\"");
        cp_buf_append_str(to, d->name);
        cp_buf_append_str(to, "\":");
        if (rc) {
            cp_buf_append_json_str(to, err, strlen(err));
        } else {
            while (len && text[len - 1] == '\n') len--;
            cp_buf_append(to, text, len);
            first = 0;
        }
        free(text);
    }
    cp_buf_append_str(out, "},\"errors\":{");
    if (errors.len) cp_buf_append(out, errors.ptr, errors.len);
    cp_buf_append_str(out, "}}\n");
    cp_buf_free(&errors);
    return CP_OK;
}

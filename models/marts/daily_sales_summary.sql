{{ config(materialized='table') }}
{# Orders by the day they were placed (gross revenue), refunds by the day they were made,
   and what is left (net), in the reporting currency. Orders in a currency without a rate
   count in orders and unconverted_orders, not in revenue. #}
WITH o AS (
    SELECT
        purchase_date AS day,
        count(*) AS orders,
        sum(units) AS units,
        sum(revenue) AS revenue,
        count(*) FILTER (revenue IS NULL) AS unconverted_orders,
        count(DISTINCT user_id) AS customers
    FROM {{ ref('fct_purchases') }}
    GROUP BY 1
),
r AS (
    SELECT event_date AS day, count(*) AS refund_count, sum(amount) AS refunds
    FROM {{ source('silver', 'refunds_reporting') }}
    GROUP BY 1
)
SELECT
    day,
    coalesce(o.orders, 0) AS orders,
    coalesce(o.units, 0) AS units,
    coalesce(o.revenue, 0) AS revenue,
    coalesce(o.customers, 0) AS customers,
    money_avg(o.revenue, o.orders - o.unconverted_orders) AS avg_order_value,
    coalesce(o.unconverted_orders, 0) AS unconverted_orders,
    coalesce(r.refund_count, 0) AS refund_count,
    coalesce(r.refunds, 0) AS refunds,
    coalesce(o.revenue, 0) - coalesce(r.refunds, 0) AS net_revenue
FROM o
FULL JOIN r USING (day)

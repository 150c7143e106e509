{{ config(materialized='table') }}
{# Orders by the day they were placed (gross revenue), refunds by the day they were made,
   and what is left (net). #}
WITH o AS (
    SELECT
        purchase_date AS day,
        count(*) AS orders,
        sum(units) AS units,
        sum(revenue) AS revenue,
        count(DISTINCT user_id) AS customers
    FROM {{ ref('fct_purchases') }}
    GROUP BY 1
),
r AS (
    SELECT event_date AS day, count(*) AS refund_count, sum(amount) AS refunds
    FROM {{ source('silver', 'refunds') }}
    GROUP BY 1
)
SELECT
    day,
    coalesce(o.orders, 0) AS orders,
    coalesce(o.units, 0) AS units,
    coalesce(o.revenue, 0) AS revenue,
    coalesce(o.customers, 0) AS customers,
    money_avg(o.revenue, o.orders) AS avg_order_value,
    coalesce(r.refund_count, 0) AS refund_count,
    coalesce(r.refunds, 0) AS refunds,
    coalesce(o.revenue, 0) - coalesce(r.refunds, 0) AS net_revenue
FROM o
FULL JOIN r USING (day)

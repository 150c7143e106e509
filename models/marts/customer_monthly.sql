{{ config(materialized='table') }}
{# Each customer's purchases month by month (by the month of the order; net_revenue after
   the order's refunds). #}
SELECT
    user_id,
    date_trunc('month', purchased_at) AS month,
    count(*) AS orders,
    sum(units) AS units,
    coalesce(sum(revenue), 0) AS revenue,
    coalesce(sum(net_revenue), 0) AS net_revenue
FROM {{ ref('fct_purchases') }}
WHERE user_id IS NOT NULL
GROUP BY ALL

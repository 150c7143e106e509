{{ config(materialized='table') }}
SELECT
    purchase_date AS day,
    count(*) AS orders,
    sum(units) AS units,
    round(sum(revenue), 2) AS revenue,
    count(DISTINCT user_id) AS customers,
    round(sum(revenue) / count(*), 2) AS avg_order_value
FROM {{ ref('fct_purchases') }}
GROUP BY 1

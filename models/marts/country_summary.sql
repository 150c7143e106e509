{{ config(materialized='table') }}
SELECT
    coalesce(country, 'unknown') AS country,
    count(*) AS orders,
    round(sum(revenue), 2) AS revenue,
    count(DISTINCT user_id) AS customers,
    round(sum(revenue) / count(*), 2) AS avg_order_value
FROM {{ ref('fct_purchases') }}
GROUP BY 1

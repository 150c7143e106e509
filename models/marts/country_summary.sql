{{ config(materialized='table') }}
SELECT
    coalesce(country, 'unknown') AS country,
    count(*) AS orders,
    coalesce(sum(revenue), 0) AS revenue,
    count(DISTINCT user_id) AS customers,
    money_avg(sum(revenue), count(revenue)) AS avg_order_value
FROM {{ ref('fct_purchases') }}
GROUP BY 1

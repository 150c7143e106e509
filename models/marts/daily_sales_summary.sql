{{ config(materialized='table') }}
SELECT
    purchase_date AS day,
    count(*) AS orders,
    sum(units) AS units,
    sum(revenue) AS revenue,
    count(DISTINCT user_id) AS customers,
    money_avg(sum(revenue), count(*)) AS avg_order_value
FROM {{ ref('fct_purchases') }}
GROUP BY 1

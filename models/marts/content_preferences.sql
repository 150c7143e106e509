{{ config(materialized='view') }}
{# A view over the incremental int_product_views and the order lines. #}
{# What people look at and what they buy, by product category: views from the product
   view events, units and revenue from the order lines. #}
WITH views AS (
    SELECT category, count(*) AS product_views, count(DISTINCT identity) AS viewers
    FROM {{ ref('int_product_views') }}
    GROUP BY 1
),
bought AS (
    SELECT coalesce(i.category, '(none)') AS category,
           sum(i.quantity) AS units,
           sum(CAST(round(CAST(i.price * i.quantity AS DECIMAL(38,2)) * o.rate, 2) AS DECIMAL(38,2))) AS revenue,
           count(DISTINCT o.user_id) AS buyers
    FROM {{ source('silver', 'order_items') }} i
    JOIN {{ ref('fct_purchases') }} o USING (order_id)
    GROUP BY 1
)
SELECT
    category,
    coalesce(v.product_views, 0) AS product_views,
    coalesce(v.viewers, 0) AS viewers,
    coalesce(b.units, 0) AS units,
    coalesce(b.revenue, 0) AS revenue,
    coalesce(b.buyers, 0) AS buyers,
    ratio_round(coalesce(b.units, 0), v.product_views, 4) AS units_per_view
FROM views v
FULL JOIN bought b USING (category)

{{ config(materialized='table') }}
{# Sessions by the day they started, at each step of the funnel; a step counts when the
   session reached it and every step before it. #}
SELECT
    start_date AS day,
    count(*) AS sessions,
    count(*) FILTER (product_view) AS product_view,
    count(*) FILTER (product_view AND cart) AS cart,
    count(*) FILTER (product_view AND cart AND checkout) AS checkout,
    count(*) FILTER (product_view AND cart AND checkout AND purchase) AS purchase,
    ratio_round(count(*) FILTER (purchase), count(*), 4) AS conversion,
    ratio_round(count(*) FILTER (NOT product_view), count(*), 4) AS drop_off_before_product
FROM {{ ref('stg_sessions') }}
GROUP BY 1

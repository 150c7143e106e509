{{ config(materialized='incremental', unique_key='order_id') }}
{# One row an order, with the calendar parts the dashboards group by. New orders are
   taken by log offset, late ones included. #}
SELECT
    "offset",
    order_id,
    user_id,
    event_time AS purchased_at,
    event_date AS purchase_date,
    year(event_time) AS year,
    month(event_time) AS month,
    day(event_time) AS day,
    hour(event_time) AS hour,
    revenue,
    currency,
    country,
    items,
    units
FROM {{ ref('stg_orders') }}
{% if is_incremental() %}
WHERE "offset" > (SELECT coalesce(max("offset"), -1) FROM {{ this }})
{% endif %}

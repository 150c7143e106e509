{{ config(materialized='incremental', unique_key='order_id') }}
{# One row an order (the first Order Completed of its order_id), with the calendar parts
   the dashboards group by. The customer is the order's userId, else the userId its
   device (anonymousId) was linked to by identify: an order placed before identify is
   credited once the device is linked. refunded is what Order Refunded events of the order
   returned, net_revenue what is left. New orders are taken by log offset, late ones
   included; an order is taken again when a refund of it arrives or its device is linked.
   Amounts are in the reporting currency (stg_orders), refunds at the rate of their day. #}
WITH refunded AS (
    SELECT order_id, sum(amount) AS refunded, max("offset") AS refunds_offset
    FROM {{ source('silver', 'refunds_reporting') }}
    GROUP BY 1
)
SELECT
    o."offset",
    o.order_id,
    coalesce(o.user_id, m.user_id) AS user_id,
    o.anonymous_id,
    o.event_time AS purchased_at,
    o.event_date AS purchase_date,
    year(o.event_time) AS year,
    month(o.event_time) AS month,
    day(o.event_time) AS day,
    hour(o.event_time) AS hour,
    o.revenue,
    coalesce(r.refunded, 0) AS refunded,
    o.revenue - coalesce(r.refunded, 0) AS net_revenue,
    o.revenue_original,
    o.currency,
    o.rate,
    o.country,
    o.items,
    o.units,
    r.refunds_offset
FROM {{ ref('stg_orders') }} o
LEFT JOIN {{ source('silver', 'identity_map') }} m ON m.anonymous_id = o.anonymous_id
LEFT JOIN refunded r USING (order_id)
{% if is_incremental() %}
WHERE o."offset" > (SELECT coalesce(max("offset"), -1) FROM {{ this }})
   OR o.order_id IN (
        SELECT order_id FROM {{ source('silver', 'refunds') }}
        WHERE "offset" > (SELECT coalesce(max(refunds_offset), -1) FROM {{ this }}))
   OR o.order_id IN (
        SELECT t.order_id FROM {{ this }} t
        JOIN {{ source('silver', 'identity_map') }} l ON l.anonymous_id = t.anonymous_id
        WHERE t.user_id IS NULL)
{% endif %}

{# Orders as silver holds them: one row an order_id, amounts exact (DECIMAL). #}
SELECT
    "offset",
    order_id,
    message_id,
    user_id,
    anonymous_id,
    event_time,
    event_date,
    revenue,
    currency,
    country,
    items,
    units
FROM {{ source('silver', 'orders') }}

{# Orders as silver holds them, amounts as doubles for the marts' arithmetic. #}
SELECT
    "offset",
    order_id,
    message_id,
    user_id,
    anonymous_id,
    event_time,
    event_date,
    CAST(revenue AS DOUBLE) AS revenue,
    currency,
    country,
    items,
    units
FROM {{ source('silver', 'orders') }}

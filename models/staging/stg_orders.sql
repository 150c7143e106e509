{# Orders as silver holds them — one row an order_id — with amounts in the reporting
   currency (currency.reporting) at the rate of the order's day; revenue_original and
   currency as sent (currency: the reporting one when none was sent). An order in a
   currency without a rate has a NULL revenue: it is counted apart, never summed. #}
SELECT
    "offset",
    order_id,
    message_id,
    user_id,
    anonymous_id,
    event_time,
    event_date,
    revenue,
    revenue_original,
    currency_code AS currency,
    rate,
    country,
    items,
    units
FROM {{ source('silver', 'orders_reporting') }}

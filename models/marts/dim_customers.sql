{{ config(materialized='incremental', unique_key='user_id') }}
{# Every known customer with what they bought, net of refunds, and their segment:
   No Purchases (0 orders), One-time (1), Regular (2 to 4), Frequent (5 or more), where an
   order refunded in full (refunded > 0 and at least its revenue) does not count.
   A refresh recomputes only the customers with events, orders or refunds new to the log
   since the last one (by log offset, so events that arrive late or out of order count). #}
WITH changed AS (
{% if is_incremental() %}
    SELECT user_id FROM {{ ref('stg_customers') }}
    WHERE last_offset > (SELECT coalesce(max(customers_offset), -1) FROM {{ this }})
    UNION
    SELECT user_id FROM {{ ref('fct_purchases') }}
    WHERE "offset" > (SELECT coalesce(max(orders_offset), -1) FROM {{ this }})
       OR refunds_offset > (SELECT coalesce(max(refunds_offset), -1) FROM {{ this }})
{% else %}
    SELECT user_id FROM {{ ref('stg_customers') }}
{% endif %}
),
bought AS (
    SELECT
        user_id,
        count(*) FILTER (NOT (refunded > 0 AND refunded >= revenue)) AS orders,
        sum(net_revenue) AS total_spent,
        count(*) FILTER (NOT (refunded > 0 AND refunded >= revenue) AND net_revenue IS NOT NULL)
            AS priced,
        min(purchased_at) AS first_purchase,
        max(purchased_at) AS last_purchase,
        max("offset") AS orders_offset,
        max(refunds_offset) AS refunds_offset
    FROM {{ ref('fct_purchases') }}
    WHERE user_id IN (SELECT user_id FROM changed)
    GROUP BY 1
)
SELECT
    c.user_id,
    c.email,
    c.email_domain,
    c.name,
    c.country,
    c.signed_up_at,
    c.first_seen,
    c.last_seen,
    coalesce(b.orders, 0) AS orders,
    coalesce(b.total_spent, 0) AS total_spent,
    money_avg(b.total_spent, b.priced) AS avg_order_value,
    b.first_purchase,
    b.last_purchase,
    CASE
        WHEN coalesce(b.orders, 0) = 0 THEN 'No Purchases'
        WHEN b.orders = 1 THEN 'One-time'
        WHEN b.orders <= 4 THEN 'Regular'
        ELSE 'Frequent'
    END AS segment,
    b.orders_offset,
    b.refunds_offset,
    c.last_offset AS customers_offset
FROM {{ ref('stg_customers') }} c
LEFT JOIN bought b USING (user_id)
WHERE c.user_id IN (SELECT user_id FROM changed)

{{ config(materialized='view') }}
{# A view: recency counts to the latest event of any customer, computed when read. #}
{# One row a customer with the features customer segmentation learns from: recency,
   frequency and monetary value, engagement, and the funnel steps they reach. #}
WITH person AS (
    SELECT s.*, coalesce(s.user_id, m.user_id) AS person
    FROM {{ ref('stg_sessions') }} s
    LEFT JOIN {{ source('silver', 'identity_map') }} m ON m.anonymous_id = s.identity
),
engagement AS (
    SELECT person AS user_id,
           count(*) AS sessions,
           sum(pageviews) AS pageviews,
           count(*) FILTER (product_view) AS sessions_viewing_products,
           count(*) FILTER (cart) AS sessions_with_cart,
           ratio_round(sum(ms_of(duration_s)), 1000 * count(*), 1) AS avg_session_s
    FROM person
    WHERE person IS NOT NULL
    GROUP BY 1
),
horizon AS (SELECT max(last_seen) AS now FROM {{ ref('stg_customers') }})
SELECT
    c.user_id,
    c.country,
    c.segment,
    c.orders AS frequency,
    c.total_spent AS monetary,
    coalesce(c.avg_order_value, 0) AS avg_order_value,
    datediff('day', coalesce(c.last_purchase, c.first_seen), h.now) AS recency_days,
    datediff('day', c.first_seen, h.now) AS tenure_days,
    coalesce(e.sessions, 0) AS sessions,
    coalesce(e.pageviews, 0) AS pageviews,
    coalesce(e.sessions_viewing_products, 0) AS sessions_viewing_products,
    coalesce(e.sessions_with_cart, 0) AS sessions_with_cart,
    coalesce(e.avg_session_s, 0) AS avg_session_s
FROM {{ ref('dim_customers') }} c
CROSS JOIN horizon h
LEFT JOIN engagement e USING (user_id)

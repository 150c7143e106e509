{{ config(materialized='table') }}
{# New customers by the day they were first seen and the campaign of their first session —
   theirs by userId, or of a device linked to them by identify (the anonymous first visit). #}
WITH person AS (
    SELECT s.*, coalesce(s.user_id, m.user_id) AS person
    FROM {{ ref('stg_sessions') }} s
    LEFT JOIN {{ source('silver', 'identity_map') }} m ON m.anonymous_id = s.identity
),
first_session AS (
    SELECT person AS user_id, arg_min_null(utm_source, start_time) AS utm_source,
           arg_min_null(utm_medium, start_time) AS utm_medium,
           arg_min_null(utm_campaign, start_time) AS utm_campaign
    FROM person
    WHERE person IS NOT NULL
    GROUP BY 1
)
SELECT
    CAST(c.first_seen AS DATE) AS day,
    coalesce(f.utm_source, '(direct)') AS utm_source,
    coalesce(f.utm_medium, '(none)') AS utm_medium,
    coalesce(f.utm_campaign, '(none)') AS utm_campaign,
    count(*) AS new_customers
FROM {{ ref('stg_customers') }} c
LEFT JOIN first_session f USING (user_id)
GROUP BY ALL

{{ config(materialized='table') }}
{# New customers by the day they were first seen and the campaign of their first session. #}
WITH first_session AS (
    SELECT user_id, arg_min(utm_source, start_time) AS utm_source,
           arg_min(utm_medium, start_time) AS utm_medium,
           arg_min(utm_campaign, start_time) AS utm_campaign
    FROM {{ ref('stg_sessions') }}
    WHERE user_id IS NOT NULL
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

{{ config(materialized='table') }}
{# Sessions by day: how many, how long, how busy, and daily active people (bots included
   in bot_sessions only). A person is the session's userId, else the userId its device
   was linked to by identify (identity_map), else its anonymousId: someone who identified
   during the day counts once. #}
WITH s AS (
    SELECT s.*, coalesce(s.user_id, m.user_id, s.identity) AS person
    FROM {{ source('silver', 'sessions') }} s
    LEFT JOIN {{ source('silver', 'identity_map') }} m ON m.anonymous_id = s.identity
)
SELECT
    start_date AS day,
    count(*) FILTER (NOT is_bot) AS sessions,
    count(*) FILTER (is_bot) AS bot_sessions,
    ratio_round(sum(ms_of(duration_s)) FILTER (NOT is_bot),
                1000 * count(*) FILTER (NOT is_bot), 1) AS avg_duration_s,
    ratio_round(CAST(2 * median(ms_of(duration_s)) FILTER (NOT is_bot) AS HUGEINT), 2000, 1)
        AS median_duration_s,
    ratio_round(sum(events) FILTER (NOT is_bot), count(*) FILTER (NOT is_bot), 2) AS avg_events,
    count(DISTINCT person) FILTER (NOT is_bot) AS daily_active
FROM s
GROUP BY 1

{{ config(materialized='table') }}
{# Sessions by day: how many, how long, how busy, and daily active people (bots included
   in bot_sessions only). #}
WITH s AS (SELECT * FROM {{ source('silver', 'sessions') }})
SELECT
    start_date AS day,
    count(*) FILTER (NOT is_bot) AS sessions,
    count(*) FILTER (is_bot) AS bot_sessions,
    round(avg(duration_s) FILTER (NOT is_bot), 1) AS avg_duration_s,
    round(median(duration_s) FILTER (NOT is_bot), 1) AS median_duration_s,
    round(avg(events) FILTER (NOT is_bot), 2) AS avg_events,
    count(DISTINCT identity) FILTER (NOT is_bot) AS daily_active
FROM s
GROUP BY 1

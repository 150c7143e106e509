{{ config(materialized='table') }}
{# Conversion of people's sessions by device, traffic source and country. #}
SELECT
    coalesce(device_type, 'unknown') AS device_type,
    coalesce(utm_source, '(direct)') AS utm_source,
    coalesce(country, 'unknown') AS country,
    count(*) AS sessions,
    count(*) FILTER (purchase) AS converted,
    ratio_round(count(*) FILTER (purchase), count(*), 4) AS conversion,
    ratio_round(sum(ms_of(duration_s)), 1000 * count(*), 1) AS avg_duration_s,
    ratio_round(sum(pageviews), count(*), 2) AS avg_pageviews
FROM {{ ref('stg_sessions') }}
GROUP BY ALL

{{ config(materialized='table') }}
{# Customers by the month of their first purchase, and how many of them bought again
   n months later (n = 0 is the first month). #}
WITH firsts AS (
    SELECT user_id, date_trunc('month', min(purchased_at)) AS cohort
    FROM {{ ref('fct_purchases') }}
    WHERE user_id IS NOT NULL
    GROUP BY 1
),
active AS (
    SELECT DISTINCT f.cohort, p.user_id,
           datediff('month', f.cohort, date_trunc('month', p.purchased_at)) AS months_since
    FROM {{ ref('fct_purchases') }} p
    JOIN firsts f USING (user_id)
)
SELECT
    a.cohort,
    a.months_since,
    count(*) AS customers,
    ratio_round(count(*), any_value(s.size), 4) AS retention
FROM active a
JOIN (SELECT cohort, count(*) AS size FROM firsts GROUP BY 1) s USING (cohort)
GROUP BY a.cohort, a.months_since

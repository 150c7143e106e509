{# Sessions (DESIGN.md section 5 rules), people only: bots and sessions without a page view out. #}
SELECT *
FROM {{ source('silver', 'sessions') }}
WHERE NOT is_bot AND pageviews > 0

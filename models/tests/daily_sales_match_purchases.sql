{# The daily summary adds up to the purchases, to the cent (amounts are exact). #}
SELECT 1
FROM (SELECT sum(orders) AS n, coalesce(sum(revenue), 0) AS r FROM {{ ref('daily_sales_summary') }}) d,
     (SELECT count(*) AS n, coalesce(sum(revenue), 0) AS r FROM {{ ref('fct_purchases') }}) p
WHERE d.n <> p.n OR d.r <> p.r

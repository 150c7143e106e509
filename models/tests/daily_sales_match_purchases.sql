{# The daily summary adds up to the purchases. #}
SELECT 1
FROM (SELECT sum(orders) AS n, sum(revenue) AS r FROM {{ ref('daily_sales_summary') }}) d,
     (SELECT count(*) AS n, sum(revenue) AS r FROM {{ ref('fct_purchases') }}) p
WHERE d.n <> p.n OR abs(d.r - p.r) > 0.01 * (SELECT count(*) FROM {{ ref('daily_sales_summary') }}) + 0.01

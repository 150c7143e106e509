{# Each funnel step holds no more sessions than the one before it. #}
SELECT * FROM {{ ref('funnel_daily') }}
WHERE product_view > sessions OR cart > product_view OR checkout > cart OR purchase > checkout

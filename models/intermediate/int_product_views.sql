{{ config(materialized='incremental') }}
{# Every product view of people, narrow: what the content marts aggregate. New views are
   appended by log offset, so a refresh reads only the events that came since. #}
SELECT
    "offset",
    event_date,
    identity,
    coalesce(json_extract_string(properties, '$.category'), '(none)') AS category,
    json_extract_string(properties, '$.product_id') AS product_id
FROM {{ source('silver', 'events') }}
WHERE kind = 'product_viewed' AND NOT is_bot
{% if is_incremental() %}
  AND "offset" > (SELECT coalesce(max("offset"), -1) FROM {{ this }})
{% endif %}

SELECT user_id, email, email_domain, name, country, first_seen, last_seen, signed_up_at, events,
       last_offset
FROM {{ source('silver', 'customers') }}

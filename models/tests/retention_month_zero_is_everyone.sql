{# In its first month every cohort is all there. #}
SELECT * FROM {{ ref('retention_cohorts') }} WHERE months_since = 0 AND retention <> 1

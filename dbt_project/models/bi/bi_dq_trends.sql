-- Quarantine and duplicate rates per source and rule over time. No personal data: customers are known by customer_key only.
with

dq_trends as (

    select * from {{ ref('dq_trends') }}

)

select * from dq_trends

-- Grades and segments over time. No personal data: customers are known by customer_key only.
with

segment_trends as (

    select * from {{ ref('segment_trends') }}

)

select * from segment_trends

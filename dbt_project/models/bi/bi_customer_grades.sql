-- RFM scores, grade and segment per customer at the as-of date. No personal data: customers are known by customer_key only.
with

customer_grades as (

    select * from {{ ref('customer_grades') }}

)

select * from customer_grades

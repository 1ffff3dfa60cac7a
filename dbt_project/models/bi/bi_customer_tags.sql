-- Tags from rules.yml per customer. No personal data: customers are known by customer_key only.
with

customer_tags as (

    select * from {{ ref('stg_tags__customer_tags') }}

)

select * from customer_tags

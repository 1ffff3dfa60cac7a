-- Next best actions and product recommendations per customer. No personal data: customers are known by customer_key only.
with

customer_recommendations as (

    select * from {{ ref('customer_recommendations') }}

)

select * from customer_recommendations

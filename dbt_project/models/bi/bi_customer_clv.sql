-- Predicted value (CLV), probability alive and churn risk per customer. No personal data: customers are known by customer_key only.
with

customer_clv as (

    select * from {{ ref('customer_clv') }}

)

select * from customer_clv

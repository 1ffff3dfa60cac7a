-- Orders of every channel. No personal data: customers are known by customer_key only.
with

fct_orders as (

    select * from {{ ref('fct_orders') }}

)

select * from fct_orders

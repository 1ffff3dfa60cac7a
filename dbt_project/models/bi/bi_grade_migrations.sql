-- Customers moving between grades and segments. No personal data: customers are known by customer_key only.
with

grade_migrations as (

    select * from {{ ref('grade_migrations') }}

)

select * from grade_migrations

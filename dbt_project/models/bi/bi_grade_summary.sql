-- KPIs at the as-of date, in total and per grade and segment. No personal data: customers are known by customer_key only.
with

grade_summary as (

    select * from {{ ref('grade_summary') }}

)

select * from grade_summary

-- Grades of every graded day. No personal data: customers are known by customer_key only.
with

grade_history as (

    select * from {{ ref('grade_history') }}

)

select * from grade_history

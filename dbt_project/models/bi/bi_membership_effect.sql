-- What joining the loyalty programme did to customers' spend, per month of joining. No personal data.
with

membership_effect as (

    select * from {{ ref('membership_effect') }}

)

select * from membership_effect

-- What each campaign did to its customers' spend, overall and per grade. No personal data: counts and amounts.
with

campaign_effect as (

    select * from {{ ref('campaign_effect') }}

)

select * from campaign_effect

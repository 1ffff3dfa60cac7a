-- KPIs over time. No personal data: customers are known by customer_key only.
with

kpi_trends as (

    select * from {{ ref('kpi_trends') }}

)

select * from kpi_trends

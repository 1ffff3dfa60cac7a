-- The all-customers KPIs on every graded date, with the change since the previous one.
with

kpis as (

    select * from {{ ref('kpi_history') }}
    where breakdown = 'all'

),

final as (

    select
        as_of_date,
        customers,
        revenue,
        revenue_per_customer,
        repeat_rate,
        churn_rate,
        average_clv,
        high_churn_risk_rate,
        lead_conversion_rate,
        lag(as_of_date) over (order by as_of_date) as previous_date,
        customers - lag(customers) over (order by as_of_date) as customers_change,
        revenue - lag(revenue) over (order by as_of_date) as revenue_change,
        repeat_rate - lag(repeat_rate) over (order by as_of_date) as repeat_rate_change,
        churn_rate - lag(churn_rate) over (order by as_of_date) as churn_rate_change
    from kpis

)

select * from final

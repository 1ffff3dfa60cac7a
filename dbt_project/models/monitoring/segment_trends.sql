-- Customers and revenue per grade and segment on every graded date, with the change since the previous one.
with

kpis as (

    select * from {{ ref('kpi_history') }}
    where breakdown != 'all'

),

final as (

    select
        as_of_date,
        breakdown as dimension,
        breakdown_value as value,
        customers,
        share_of_customers,
        revenue,
        share_of_revenue,
        average_clv,
        lag(as_of_date) over (partition by breakdown, breakdown_value order by as_of_date) as previous_date,
        customers - lag(customers) over (partition by breakdown, breakdown_value order by as_of_date)
            as customers_change,
        share_of_customers - lag(share_of_customers) over (partition by breakdown, breakdown_value order by as_of_date)
            as share_change
    from kpis

)

select * from final

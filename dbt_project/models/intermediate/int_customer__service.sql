-- Service per customer before the as-of date: tickets and complaints over 90/365 days, tickets still open at
-- the as-of date, mean resolution time of the tickets resolved before it.
with

tickets as (

    select
        *,
        {{ dbt.datediff('cast(opened_at as date)', as_of_date(), 'day') }} as days_before,
        resolved_at < {{ as_of_timestamp() }} as resolved_by_as_of
    from {{ ref('int_service_tickets') }}
    where customer_key is not null
        and opened_at < {{ as_of_timestamp() }}

),

final as (

    select
        customer_key,
        count(*) filter (where days_before <= 90) as tickets_90d,
        count(*) filter (where days_before <= 365) as tickets_365d,
        count(*) filter (where is_complaint and days_before <= 90) as complaints_90d,
        count(*) filter (where is_complaint and days_before <= 365) as complaints_365d,
        count(*) filter (where not coalesce(resolved_by_as_of, false)) as open_tickets,
        avg(resolution_hours) filter (where resolved_by_as_of) as avg_resolution_hours,
        max(opened_at) as last_ticket_at
    from tickets
    group by customer_key

)

select * from final

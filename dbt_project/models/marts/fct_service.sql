-- Service tickets and complaints with their customer and resolution time.
with

tickets as (

    select * from {{ ref('int_service_tickets') }}

),

final as (

    select
        source_name,
        ticket_id,
        customer_key,
        category,
        channel,
        status,
        is_complaint,
        opened_at,
        resolved_at,
        resolution_hours
    from tickets

)

select * from final

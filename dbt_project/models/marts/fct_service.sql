-- Service tickets and complaints with their customer and resolution time.
-- A projection of a model built per customer: a view, so a nightly run copies nothing.
{{ config(materialized='view') }}

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

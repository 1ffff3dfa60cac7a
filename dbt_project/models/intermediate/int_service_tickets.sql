-- Service tickets with their customer and resolution time.
-- Built per customer: a run redoes the rows of the customers identity changed and the anonymous rows of the files
-- delivered since (macros/customer_increment.sql).
{{ config(**customer_increment_config(files_from='stg_raw__service_tickets')) }}

with

keyed as (

    {{ with_customer_key(ref('stg_raw__service_tickets')) }}

),

final as (

    select
        source_name,
        ticket_id,
        customer_key,
        category,
        channel,
        status,
        coalesce(is_complaint, false) as is_complaint,
        opened_at,
        resolved_at,
        case
            when resolved_at >= opened_at
                then {{ dbt.datediff('opened_at', 'resolved_at', 'second') }} / 3600.0
        end as resolution_hours,
        source_file,
        source_row_number
    from keyed

)

select * from final

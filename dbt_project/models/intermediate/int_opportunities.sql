-- B2B opportunities with their customer, won/closed flags.
-- Built per customer: a run redoes the rows of the customers identity changed and the anonymous rows of the files
-- delivered since (macros/customer_increment.sql).
{{ config(**customer_increment_config(files_from='stg_raw__opportunities')) }}

with

keyed as (

    {{ with_customer_key(ref('stg_raw__opportunities')) }}

),

final as (

    select
        source_name,
        opportunity_id,
        lead_id,
        customer_key,
        stage,
        amount,
        stage in ('closed_won', 'closed_lost') as is_closed,
        stage = 'closed_won' as is_won,
        created_at,
        closed_at,
        source_file,
        source_row_number
    from keyed

)

select * from final

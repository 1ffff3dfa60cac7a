-- B2B leads with their customer. Conversion is judged as of a date in int_customer__engagement.
-- Built per customer: a run redoes the rows of the customers identity changed and the anonymous rows of the files
-- delivered since (macros/customer_increment.sql).
{{ config(**customer_increment_config(files_from='stg_raw__leads')) }}

with

keyed as (

    {{ with_customer_key(ref('stg_raw__leads')) }}

),

final as (

    select
        source_name,
        lead_id,
        customer_key,
        lead_source,
        status,
        created_at,
        source_file,
        source_row_number
    from keyed

)

select * from final

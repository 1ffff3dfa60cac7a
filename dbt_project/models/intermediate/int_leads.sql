-- B2B leads with their customer. Conversion is judged as of a date in int_customer__engagement.
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

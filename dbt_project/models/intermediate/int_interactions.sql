-- Interactions of every channel with their customer. The channel is the interaction type (call, e-mail,
-- chat, WeChat, web visit, contact form, SMS, visit).
-- Built per customer: a run redoes the rows of the customers identity changed and the anonymous rows of the files
-- delivered since (macros/customer_increment.sql).
{{ config(**customer_increment_config(files_from='stg_raw__interactions')) }}

with

keyed as (

    {{ with_customer_key(ref('stg_raw__interactions')) }}

),

final as (

    select
        source_name,
        interaction_id,
        customer_key,
        interaction_type as channel,
        direction,
        outcome,
        duration_seconds,
        occurred_at,
        cast(occurred_at as date) as occurred_date,
        source_file,
        source_row_number
    from keyed

)

select * from final

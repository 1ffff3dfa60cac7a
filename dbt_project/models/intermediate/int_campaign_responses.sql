-- Campaign targetings with their customer. A response is a click, a reply or a purchase; an opened
-- message or an unsubscribe is not.
-- Built per customer: a run redoes the rows of the customers identity changed and the anonymous rows of the files
-- delivered since (macros/customer_increment.sql).
{{ config(**customer_increment_config(files_from='stg_raw__campaign_responses')) }}

with

keyed as (

    {{ with_customer_key(ref('stg_raw__campaign_responses')) }}

),

final as (

    select
        source_name,
        campaign_id,
        customer_key,
        targeted_at,
        response_type,
        responded_at,
        coalesce(response_type in ('clicked', 'replied', 'purchased'), false) as is_response,
        source_file,
        source_row_number
    from keyed

)

select * from final

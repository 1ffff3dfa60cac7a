-- Campaign targetings with their customer. A response is a click, a reply or a purchase; an opened
-- message or an unsubscribe is not. A holdout row (the campaign's control group, not contacted) is no targeting
-- and no response: it is kept for measuring the campaign's effect (campaign_effect).
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
        coalesce(is_holdout, false) as is_holdout,
        coalesce(response_type in ('clicked', 'replied', 'purchased'), false)
        and not coalesce(is_holdout, false) as is_response,
        source_file,
        source_row_number
    from keyed

)

select * from final

-- Survey answers (NPS 0-10, CSAT 1-5) with their customer. NPS answers are classed the usual way:
-- 9-10 promoter, 7-8 passive, 0-6 detractor.
-- Built per customer: a run redoes the rows of the customers identity changed and the anonymous rows of the files
-- delivered since (macros/customer_increment.sql).
{{ config(**customer_increment_config(files_from='stg_raw__surveys')) }}

with

keyed as (

    {{ with_customer_key(ref('stg_raw__surveys')) }}

),

final as (

    select
        source_name,
        response_id,
        customer_key,
        survey_type,
        score,
        case
            when survey_type != 'NPS' or score is null then null
            when score >= 9 then 'promoter'
            when score >= 7 then 'passive'
            else 'detractor'
        end as nps_category,
        comment,
        answered_at,
        source_file,
        source_row_number
    from keyed

)

select * from final

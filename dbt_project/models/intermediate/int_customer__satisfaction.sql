-- Satisfaction per customer before the as-of date: the latest NPS and CSAT answers and their trend (the
-- latest score less the one before it, of the same survey type).
with

answers as (

    select
        *,
        row_number() over (
            partition by customer_key, survey_type order by answered_at desc, response_id desc
        ) as recency_rank
    from {{ ref('int_survey_responses') }}
    where customer_key is not null
        and score is not null
        and answered_at < {{ as_of_timestamp() }}

),

final as (

    select
        customer_key,
        max(score) filter (where survey_type = 'NPS' and recency_rank = 1) as latest_nps_score,
        max(answered_at) filter (where survey_type = 'NPS' and recency_rank = 1) as latest_nps_at,
        max(nps_category) filter (where survey_type = 'NPS' and recency_rank = 1) as nps_category,
        max(score) filter (where survey_type = 'NPS' and recency_rank = 1)
        - max(score) filter (where survey_type = 'NPS' and recency_rank = 2) as nps_trend,
        max(score) filter (where survey_type = 'CSAT' and recency_rank = 1) as latest_csat_score,
        max(answered_at) filter (where survey_type = 'CSAT' and recency_rank = 1) as latest_csat_at,
        max(score) filter (where survey_type = 'CSAT' and recency_rank = 1)
        - max(score) filter (where survey_type = 'CSAT' and recency_rank = 2) as csat_trend,
        count(*) as survey_answers
    from answers
    group by customer_key

)

select * from final

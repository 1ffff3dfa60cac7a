-- The grade of every customer with a purchase before the as-of date, by the rules of grading.yml: the 1..5
-- scores of R, F, M (and any further dimension) weighted into one score, the grade whose cut-off the score
-- reaches, the classic 8 RFM segments and the English segment map (seeds, editable). R is high or low by the
-- recency the profile scores (days, or days over the customer's typical gap), and the row says which.
with

dimension_scores as (

    select * from {{ ref('int_grading__dimension_scores') }}

),

recency as (

    select * from {{ ref('int_grading__recency') }}

),

purchase_totals as (

    select * from {{ ref('int_grading__purchase_totals') }}

),

grades as (

    select * from {{ ref('stg_grading_spec__grades') }}

),

settings as (

    select * from {{ ref('stg_grading_spec__settings') }}

),

segments_cn as (

    select * from {{ spec_seed('rfm_segments_cn') }}

),

segments_en as (

    select * from {{ spec_seed('rfm_segments_en') }}

),

per_customer as (

    select
        customer_key,
        as_of_date,
        profile,
        max(value) filter (where dimension = 'recency') as recency_value,
        cast(max(value) filter (where dimension = 'frequency') as integer) as frequency,
        max(value) filter (where dimension = 'monetary') as monetary,
        max(score) filter (where dimension = 'recency') as r_score,
        max(score) filter (where dimension = 'frequency') as f_score,
        max(score) filter (where dimension = 'monetary') as m_score,
        round(sum(weight * score) / sum(weight), 4) as weighted_score
    from dimension_scores
    group by customer_key, as_of_date, profile

),

with_averages as (

    select
        *,
        avg(recency_value) over (partition by profile) as profile_avg_recency,
        avg(frequency) over (partition by profile) as profile_avg_frequency,
        avg(monetary) over (partition by profile) as profile_avg_monetary
    from per_customer

),

splits as (

    select
        with_averages.*,
        settings.spec_version,
        case when settings.segment_split = 'score' then r_score >= settings.segment_min_score
            else recency_value < profile_avg_recency
        end as r_high,
        case when settings.segment_split = 'score' then f_score >= settings.segment_min_score
            else frequency > profile_avg_frequency
        end as f_high,
        case when settings.segment_split = 'score' then m_score >= settings.segment_min_score
            else monetary > profile_avg_monetary
        end as m_high
    from with_averages
    cross join settings

),

graded as (

    select
        splits.customer_key,
        min_by(grades.grade, grades.grade_rank) as grade,
        min_by(grades.label, grades.grade_rank) as grade_label
    from splits
    inner join grades
        on splits.profile = grades.profile
            and splits.weighted_score >= grades.min_score
    group by splits.customer_key

),

final as (

    select
        splits.customer_key,
        splits.as_of_date,
        splits.profile,
        recency.recency_days,
        recency.recency_method,
        recency.typical_gap_days,
        splits.frequency,
        cast(splits.monetary as decimal(18, 2)) as monetary,
        cast(purchase_totals.monetary_gross as decimal(18, 2)) as monetary_gross,
        cast(purchase_totals.monetary_net as decimal(18, 2)) as monetary_net,
        cast(purchase_totals.monetary_net_provisional as decimal(18, 2)) as monetary_net_provisional,
        splits.r_score,
        splits.f_score,
        splits.m_score,
        cast(splits.r_score as {{ dbt.type_string() }}) || cast(splits.f_score as {{ dbt.type_string() }}) || cast(splits.m_score as {{ dbt.type_string() }})
            as rfm_code,
        splits.r_score + splits.f_score + splits.m_score as rfm_score,
        splits.weighted_score,
        graded.grade,
        graded.grade_label,
        segments_cn.segment_cn,
        segments_cn.segment_cn_en,
        segments_en.segment_en,
        splits.spec_version
    from splits
    inner join graded on splits.customer_key = graded.customer_key
    inner join recency on splits.customer_key = recency.customer_key
    inner join purchase_totals on splits.customer_key = purchase_totals.customer_key
    left join segments_cn
        on splits.r_high = segments_cn.r_high
            and splits.f_high = segments_cn.f_high
            and splits.m_high = segments_cn.m_high
    left join segments_en
        on splits.r_score = segments_en.r_score
            and cast(ceil((splits.f_score + splits.m_score) / 2.0) as integer) = segments_en.fm_score

)

select * from final

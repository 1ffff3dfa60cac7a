{{ config(unique_key=['as_of_date']) }}
-- Every run's grades, kept by as-of date: grading a day again replaces that day's slice (delete+insert on
-- as_of_date), other days stay. With the predicted value of the same day where the CLV asset has run.
with

grades as (

    select * from {{ ref('customer_grades') }}

),

predictions as (

    select * from {{ ref('customer_clv') }}

),

final as (

    select
        grades.as_of_date,
        grades.customer_key,
        grades.profile,
        grades.recency_days,
        grades.frequency,
        grades.monetary,
        grades.r_score,
        grades.f_score,
        grades.m_score,
        grades.rfm_code,
        grades.weighted_score,
        grades.grade,
        grades.grade_label,
        grades.segment_cn,
        grades.segment_en,
        grades.spec_version,
        grades.recency_method,
        grades.typical_gap_days,
        predictions.clv,
        predictions.p_alive,
        predictions.churn_risk,
        '{{ env_var("CRMGRADE_RUN_ID", "manual") }}' as run_id,
        {{ dbt.current_timestamp() }} as recorded_at
    from grades
    left join predictions
        on grades.customer_key = predictions.customer_key
        and grades.as_of_date = predictions.as_of_date

)

select * from final

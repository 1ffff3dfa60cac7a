{{ config(unique_key=['as_of_date']) }}
-- Every run's grades, kept by as-of date: grading a day again replaces that day's slice (delete+insert on
-- as_of_date), other days stay. With the predicted value of the same day where the CLV asset has run, and the
-- clocks of what the grades were built from (the latest identity run, the latest file judged): a migration
-- between two days can then tell which merges and file corrections came between them (grade_migrations). And the
-- time the grading's inputs stood at (inputs_as_of: the latest change in their snapshots, built before this
-- model): `crmgrade regrade` grades the day again from those versions (macros/grading_input.sql).
with

grades as (

    select * from {{ ref('customer_grades') }}

),

predictions as (

    select * from {{ ref('customer_clv') }}

),

identity_clock as (

    select max(identity_run_seq) as identity_run_seq from {{ ref('stg_identity__customer_changes') }}

),

inputs_clock as (

    select max(changed_at) as inputs_as_of
    from (
        select max(coalesce(dbt_valid_to, dbt_valid_from)) as changed_at from {{ ref('grading_input_orders') }}
        union all
        select max(coalesce(dbt_valid_to, dbt_valid_from)) from {{ ref('grading_input_customers') }}
    ) as snapshots

),

files_clock as (

    select max(checked_at) as files_checked_through from {{ ref('stg_dq__file_checks') }}

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
        identity_clock.identity_run_seq,
        files_clock.files_checked_through,
        inputs_clock.inputs_as_of,
        '{{ env_var("CRMGRADE_RUN_ID", "manual") }}' as run_id,
        {{ dbt.current_timestamp() }} as recorded_at
    from grades
    left join predictions
        on grades.customer_key = predictions.customer_key
            and grades.as_of_date = predictions.as_of_date
    cross join identity_clock
    cross join files_clock
    cross join inputs_clock

)

select * from final

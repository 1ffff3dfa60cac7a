{{ config(unique_key=['as_of_date']) }}
-- Every graded day's cut points, kept by as-of date like grade_history: grading a day again replaces its slice.
-- monitoring.drift_alerts compares a day's quantile cut points with the previous graded day's.
with

cut_points as (

    select * from {{ ref('int_grading__cut_points') }}

),

final as (

    select
        as_of_date,
        spec_version,
        profile,
        dimension,
        method,
        score,
        cut_point,
        customers_ranked,
        customers_excluded,
        '{{ env_var("CRMGRADE_RUN_ID", "manual") }}' as run_id,
        {{ dbt.current_timestamp() }} as recorded_at
    from cut_points

)

select * from final

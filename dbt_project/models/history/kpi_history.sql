{{ config(unique_key=['as_of_date']) }}
-- The KPIs of every as-of date graded so far (marts.grade_summary), kept like grade_history.
with

summary as (

    select * from {{ ref('grade_summary') }}

),

final as (

    select
        summary.*,
        '{{ env_var("CRMGRADE_RUN_ID", "manual") }}' as run_id,
        {{ dbt.current_timestamp() }} as recorded_at
    from summary

)

select * from final

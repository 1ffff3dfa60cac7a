{{ config(unique_key=['as_of_date']) }}
-- The KPIs of every as-of date graded so far (marts.grade_summary), kept like grade_history.
with

summary as (

    select * from {{ ref('grade_summary') }}

),

final as (

    select
        summary.*,
        '{{ var("run_id") }}' as run_id,
        {{ dbt.current_timestamp() }} as recorded_at
    from summary

)

select * from final

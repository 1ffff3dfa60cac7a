{{ config(unique_key=['as_of_date']) }}
-- Every graded day's product recommendations, kept by as-of date like grade_history (grading a day again
-- replaces its slice): what the backtest judges against what each customer bought after the day
-- (pipeline/monitoring/recommendation_backtest.py).
with

recommendations as (

    select * from {{ ref('customer_recommendations') }}

),

final as (

    select
        as_of_date,
        customer_key,
        recommendation_rank,
        segment_en,
        basis,
        product_key,
        '{{ env_var("CRMGRADE_RUN_ID", "manual") }}' as run_id,
        {{ dbt.current_timestamp() }} as recorded_at
    from recommendations
    where product_key is not null

)

select * from final

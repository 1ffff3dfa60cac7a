-- Per backtested day, grouping (all, grade, segment_en, churn_risk) and group. No personal data: aggregates over the customers of a graded day.
with

backtest_groups as (

    select * from {{ ref('stg_evaluation__backtest_groups') }}

)

select * from backtest_groups

-- Per backtested day and basis (all, co_purchase, segment_popular). No personal data: aggregates over the customers of a graded day.
with

backtest_recommendations as (

    select * from {{ ref('stg_evaluation__backtest_recommendations') }}

)

select * from backtest_recommendations

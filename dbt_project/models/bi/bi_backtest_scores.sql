-- Per backtested day and score (weighted_score, p_alive, clv). No personal data: aggregates over the customers of a graded day.
with

backtest_scores as (

    select * from {{ ref('stg_evaluation__backtest_scores') }}

)

select * from backtest_scores

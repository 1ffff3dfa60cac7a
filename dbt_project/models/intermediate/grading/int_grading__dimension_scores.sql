-- A 1..5 score per customer and dimension. Quantile: the quintile the first customer holding this value falls
-- in, ordered from worst to best (1 + floor(5 * (rank - 1) / customers)), so equal values always get equal
-- scores and the worst value always scores 1 (a one-time buyer is F1 even when half the customers are).
-- Thresholds: 1 plus the cut points reached (value >= cut point, or <= for dimensions where lower is better).
-- A customer without a value scores 1: no evidence is not good evidence.
with

indicator_values as (

    select * from {{ ref('int_grading__indicator_values') }}

),

thresholds as (

    select * from {{ ref('stg_grading_spec__thresholds') }}

),

quantile_scores as (

    select
        customer_key,
        dimension,
        case
            when value is null then 1
            when higher_is_better then 1 + floor(5 * (rank() over (
                partition by profile, dimension, value is null order by value
            ) - 1) / count(*) over (partition by profile, dimension, value is null))
            else 1 + floor(5 * (rank() over (
                partition by profile, dimension, value is null order by value desc
            ) - 1) / count(*) over (partition by profile, dimension, value is null))
        end as score
    from indicator_values
    where method = 'quantile'

),

threshold_scores as (

    select
        indicator_values.customer_key,
        indicator_values.dimension,
        1 + count(thresholds.threshold) filter (
            where (indicator_values.higher_is_better and indicator_values.value >= thresholds.threshold)
            or (not indicator_values.higher_is_better and indicator_values.value <= thresholds.threshold)
        ) as score
    from indicator_values
    left join thresholds
        on indicator_values.profile = thresholds.profile
        and indicator_values.dimension = thresholds.dimension
    where indicator_values.method = 'thresholds'
    group by indicator_values.customer_key, indicator_values.dimension

),

scores as (

    select * from quantile_scores
    union all
    select * from threshold_scores

),

final as (

    select
        indicator_values.customer_key,
        indicator_values.as_of_date,
        indicator_values.profile,
        indicator_values.dimension,
        indicator_values.value,
        indicator_values.weight,
        cast(scores.score as integer) as score
    from indicator_values
    inner join scores
        on indicator_values.customer_key = scores.customer_key
        and indicator_values.dimension = scores.dimension

)

select * from final

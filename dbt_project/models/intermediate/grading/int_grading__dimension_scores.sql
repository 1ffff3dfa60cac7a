-- A 1..5 score per customer and dimension: 1 plus the number of the dimension's cut points the value reaches
-- (value >= cut point, or <= for dimensions where lower is better), by the profile's cut points
-- (int_grading__cut_points: grading.yml's thresholds, or the quintiles of the profile's customers).
-- A customer without a value scores 1: no evidence is not good evidence.
with

indicator_values as (

    select * from {{ ref('int_grading__indicator_values') }}

),

cut_points as (

    select * from {{ ref('int_grading__cut_points') }}

),

scores as (

    select
        indicator_values.customer_key,
        indicator_values.dimension,
        1 + count(cut_points.cut_point) filter (
            where (indicator_values.higher_is_better and indicator_values.value >= cut_points.cut_point)
            or (not indicator_values.higher_is_better and indicator_values.value <= cut_points.cut_point)
        ) as score
    from indicator_values
    left join cut_points
        on indicator_values.profile = cut_points.profile
            and indicator_values.dimension = cut_points.dimension
    group by indicator_values.customer_key, indicator_values.dimension

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

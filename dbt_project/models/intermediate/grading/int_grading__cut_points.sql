-- The cut points each dimension is scored by, per profile: a customer scores 1 plus the number of cut points
-- its value reaches (value >= cut point, or <= where lower is better). Thresholds: grading.yml's four.
-- Quantile: from the profile's customers with a value, the highest values left out first when the spec says so
-- (exclude_highest_share: a tie group is left out only when all of it fits in the share); among the others, a
-- value's quintile is that of its first holder (1 + floor(5 * (rank - 1) / customers), so equal values share a
-- score and the worst value scores 1), and score s's cut point is the lowest value scoring s or more (the
-- highest, where lower is better). A score no value reaches has no cut point.
with

indicator_values as (

    select * from {{ ref('int_grading__indicator_values') }}

),

dimensions as (

    select * from {{ ref('stg_grading_spec__dimensions') }}

),

thresholds as (

    select * from {{ ref('stg_grading_spec__thresholds') }}

),

settings as (

    select * from {{ ref('stg_grading_spec__settings') }}

),

quantile_values as (

    select
        indicator_values.profile,
        indicator_values.dimension,
        indicator_values.higher_is_better,
        indicator_values.value,
        dimensions.exclude_highest_share,
        count(*) over (partition by indicator_values.profile, indicator_values.dimension) as customers,
        -- customers holding this value or a higher one
        count(*) over (
            partition by indicator_values.profile, indicator_values.dimension
            order by indicator_values.value desc
            range between unbounded preceding and current row
        ) as at_or_above
    from indicator_values
    inner join dimensions
        on indicator_values.profile = dimensions.profile
            and indicator_values.dimension = dimensions.dimension
    where indicator_values.method = 'quantile'
        and indicator_values.value is not null

),

flagged as (

    select
        *,
        at_or_above > floor(exclude_highest_share * customers) as is_ranked
    from quantile_values

),

kept as (

    select * from flagged
    where is_ranked

),

quantile_scored as (

    select
        profile,
        dimension,
        higher_is_better,
        value,
        1 + floor(5 * (
            case
                when higher_is_better then rank() over (partition by profile, dimension order by value)
                else rank() over (partition by profile, dimension order by value desc)
            end - 1
        ) / count(*) over (partition by profile, dimension)) as score
    from kept

),

score_bounds as (

    select
        profile,
        dimension,
        higher_is_better,
        score,
        min(value) as lowest_value,
        max(value) as highest_value
    from quantile_scored
    group by profile, dimension, higher_is_better, score

),

quantile_dimensions as (

    select
        profile,
        dimension,
        higher_is_better,
        count(*) as customers,
        count(*) filter (where is_ranked) as customers_ranked
    from flagged
    group by profile, dimension, higher_is_better

),

levels as (

    select 2 as score
    union all
    select 3
    union all
    select 4
    union all
    select 5

),

quantile_cut_points as (

    select
        quantile_dimensions.profile,
        quantile_dimensions.dimension,
        'quantile' as method,
        levels.score,
        case
            when quantile_dimensions.higher_is_better then min(score_bounds.lowest_value)
            else max(score_bounds.highest_value)
        end as cut_point,
        quantile_dimensions.customers_ranked,
        quantile_dimensions.customers - quantile_dimensions.customers_ranked as customers_excluded
    from quantile_dimensions
    cross join levels
    left join score_bounds
        on quantile_dimensions.profile = score_bounds.profile
            and quantile_dimensions.dimension = score_bounds.dimension
            and levels.score <= score_bounds.score
    group by
        quantile_dimensions.profile,
        quantile_dimensions.dimension,
        quantile_dimensions.higher_is_better,
        levels.score,
        quantile_dimensions.customers_ranked,
        quantile_dimensions.customers

),

threshold_cut_points as (

    select
        thresholds.profile,
        thresholds.dimension,
        'thresholds' as method,
        thresholds.position + 1 as score,
        thresholds.threshold as cut_point,
        cast(null as bigint) as customers_ranked,
        cast(null as bigint) as customers_excluded
    from thresholds
    inner join dimensions
        on thresholds.profile = dimensions.profile
            and thresholds.dimension = dimensions.dimension
    where dimensions.method = 'thresholds'

),

cut_points as (

    select * from quantile_cut_points
    union all
    select * from threshold_cut_points

),

final as (

    select
        {{ as_of_date() }} as as_of_date,
        settings.spec_version,
        cut_points.profile,
        cut_points.dimension,
        cut_points.method,
        cast(cut_points.score as integer) as score,
        cast(cut_points.cut_point as double) as cut_point,
        cut_points.customers_ranked,
        cut_points.customers_excluded
    from cut_points
    cross join settings

)

select * from final

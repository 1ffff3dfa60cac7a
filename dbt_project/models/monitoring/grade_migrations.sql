-- Customers moving between grades and segments: for every as-of date in the history, against the previous
-- graded date and against the latest date at least 30 and 90 days earlier. A customer graded only on the later
-- date comes from '(new)', one graded only on the earlier date goes to '(gone)'.
with

history as (

    select * from {{ ref('grade_history') }}

),

dates as (

    select distinct as_of_date from history

),

comparisons as (

    select
        later.as_of_date,
        'previous' as horizon,
        max(earlier.as_of_date) as compared_with_date
    from dates as later
    inner join dates as earlier
        on earlier.as_of_date < later.as_of_date
    group by later.as_of_date

    union all

    select
        later.as_of_date,
        '30d',
        max(earlier.as_of_date)
    from dates as later
    inner join dates as earlier
        on earlier.as_of_date <= {{ dbt.dateadd('day', -30, 'later.as_of_date') }}
    group by later.as_of_date

    union all

    select
        later.as_of_date,
        '90d',
        max(earlier.as_of_date)
    from dates as later
    inner join dates as earlier
        on earlier.as_of_date <= {{ dbt.dateadd('day', -90, 'later.as_of_date') }}
    group by later.as_of_date

),

sides as (

    -- each comparison's customers on both of its dates, the later date flagged
    select
        comparisons.as_of_date,
        comparisons.horizon,
        comparisons.compared_with_date,
        history.customer_key,
        history.as_of_date = comparisons.as_of_date as is_later,
        history.grade,
        history.segment_en,
        history.segment_cn,
        history.monetary
    from comparisons
    inner join history
        on history.as_of_date in (comparisons.as_of_date, comparisons.compared_with_date)

),

moves as (

    select
        as_of_date,
        horizon,
        compared_with_date,
        coalesce(max(case when not is_later then grade end), '(new)') as from_grade,
        coalesce(max(case when is_later then grade end), '(gone)') as to_grade,
        coalesce(max(case when not is_later then segment_en end), '(new)') as from_segment_en,
        coalesce(max(case when is_later then segment_en end), '(gone)') as to_segment_en,
        coalesce(max(case when not is_later then segment_cn end), '(new)') as from_segment_cn,
        coalesce(max(case when is_later then segment_cn end), '(gone)') as to_segment_cn,
        max(case when not is_later then monetary end) as monetary_before,
        max(case when is_later then monetary end) as monetary_after
    from sides
    group by as_of_date, horizon, compared_with_date, customer_key

),

unpivoted as (

    select as_of_date, horizon, compared_with_date, 'grade' as dimension, from_grade as from_value,
        to_grade as to_value, monetary_before, monetary_after
    from moves
    union all
    select as_of_date, horizon, compared_with_date, 'segment_en', from_segment_en, to_segment_en,
        monetary_before, monetary_after
    from moves
    union all
    select as_of_date, horizon, compared_with_date, 'segment_cn', from_segment_cn, to_segment_cn,
        monetary_before, monetary_after
    from moves

),

final as (

    select
        as_of_date,
        horizon,
        compared_with_date,
        dimension,
        from_value,
        to_value,
        from_value != to_value as is_change,
        count(*) as customers,
        sum(monetary_before) as revenue_before,
        sum(monetary_after) as revenue_after
    from unpivoted
    group by as_of_date, horizon, compared_with_date, dimension, from_value, to_value

)

select * from final

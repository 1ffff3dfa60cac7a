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

later as (

    select
        comparisons.as_of_date,
        comparisons.horizon,
        comparisons.compared_with_date,
        history.customer_key,
        history.grade,
        history.segment_en,
        history.segment_cn,
        history.monetary
    from comparisons
    inner join history
        on comparisons.as_of_date = history.as_of_date

),

earlier as (

    select
        comparisons.as_of_date,
        comparisons.horizon,
        comparisons.compared_with_date,
        history.customer_key,
        history.grade,
        history.segment_en,
        history.segment_cn,
        history.monetary
    from comparisons
    inner join history
        on comparisons.compared_with_date = history.as_of_date

),

moves as (

    select
        coalesce(later.as_of_date, earlier.as_of_date) as as_of_date,
        coalesce(later.horizon, earlier.horizon) as horizon,
        coalesce(later.compared_with_date, earlier.compared_with_date) as compared_with_date,
        coalesce(earlier.grade, '(new)') as from_grade,
        coalesce(later.grade, '(gone)') as to_grade,
        coalesce(earlier.segment_en, '(new)') as from_segment_en,
        coalesce(later.segment_en, '(gone)') as to_segment_en,
        coalesce(earlier.segment_cn, '(new)') as from_segment_cn,
        coalesce(later.segment_cn, '(gone)') as to_segment_cn,
        earlier.monetary as monetary_before,
        later.monetary as monetary_after
    from later
    full outer join earlier
        on later.as_of_date = earlier.as_of_date
        and later.horizon = earlier.horizon
        and later.customer_key = earlier.customer_key

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

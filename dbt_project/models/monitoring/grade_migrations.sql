-- Customers moving between grades and segments: for every as-of date in the history, against the previous
-- graded date and against the latest date at least 30 and 90 days earlier. A customer graded only on the later
-- date comes from '(new)', one graded only on the earlier date goes to '(gone)'.
-- Each customer's move is tagged with its cause, the first that holds: identity (an identity run between the two
-- days merged the customer with another or split it off again), data_correction (a file holding its orders was
-- delivered again with other content between them), spec_change (the two days were graded under different
-- grading spec versions), else behaviour (its orders, refunds, or time passing).
with

history as (

    select * from {{ ref('grade_history') }}

),

events as (

    select * from {{ ref('int_monitoring__customer_events') }}

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
        on later.as_of_date > earlier.as_of_date
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

slices as (

    -- each graded day's clocks (the same on every row of the day)
    select
        as_of_date,
        max(identity_run_seq) as identity_run_seq,
        max(files_checked_through) as files_checked_through
    from history
    group by as_of_date

),

windows as (

    select
        comparisons.as_of_date,
        comparisons.horizon,
        earlier.identity_run_seq as identity_run_seq_from,
        later.identity_run_seq as identity_run_seq_to,
        earlier.files_checked_through as files_checked_from,
        later.files_checked_through as files_checked_to
    from comparisons
    inner join slices as later on comparisons.as_of_date = later.as_of_date
    inner join slices as earlier on comparisons.compared_with_date = earlier.as_of_date

),

identity_between as (

    -- two range conditions each, no or: DuckDB joins those by range (IEJoin), not pair by pair
    select distinct
        windows.as_of_date,
        windows.horizon,
        events.customer_key
    from windows
    inner join events
        on
            windows.identity_run_seq_from < events.identity_run_seq
            and windows.identity_run_seq_to >= events.identity_run_seq
    where events.cause = 'identity'

),

corrected_between as (

    select distinct
        windows.as_of_date,
        windows.horizon,
        events.customer_key
    from windows
    inner join events
        on
            windows.files_checked_from < events.checked_at
            and windows.files_checked_to >= events.checked_at
    where events.cause = 'data_correction'

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
        history.monetary,
        history.spec_version
    from comparisons
    inner join history
        on history.as_of_date in (comparisons.as_of_date, comparisons.compared_with_date)

),

moves as (

    select
        as_of_date,
        horizon,
        compared_with_date,
        customer_key,
        max(case when not is_later then spec_version end) as spec_version_before,
        max(case when is_later then spec_version end) as spec_version_after,
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

caused as (

    select
        moves.*,
        case
            when identity_between.customer_key is not null then 'identity'
            when corrected_between.customer_key is not null then 'data_correction'
            when moves.spec_version_before != moves.spec_version_after then 'spec_change'
            else 'behaviour'
        end as cause
    from moves
    left join identity_between
        on
            moves.as_of_date = identity_between.as_of_date
            and moves.horizon = identity_between.horizon
            and moves.customer_key = identity_between.customer_key
    left join corrected_between
        on
            moves.as_of_date = corrected_between.as_of_date
            and moves.horizon = corrected_between.horizon
            and moves.customer_key = corrected_between.customer_key

),

unpivoted as (

    select
        as_of_date,
        horizon,
        compared_with_date,
        cause,
        'grade' as dimension,
        from_grade as from_value,
        to_grade as to_value,
        monetary_before,
        monetary_after
    from caused
    union all
    select
        as_of_date,
        horizon,
        compared_with_date,
        cause,
        'segment_en',
        from_segment_en,
        to_segment_en,
        monetary_before,
        monetary_after
    from caused
    union all
    select
        as_of_date,
        horizon,
        compared_with_date,
        cause,
        'segment_cn',
        from_segment_cn,
        to_segment_cn,
        monetary_before,
        monetary_after
    from caused

),

final as (

    select
        as_of_date,
        horizon,
        compared_with_date,
        dimension,
        from_value,
        to_value,
        cause,
        from_value != to_value as is_change,
        count(*) as customers,
        sum(monetary_before) as revenue_before,
        sum(monetary_after) as revenue_after
    from unpivoted
    group by as_of_date, horizon, compared_with_date, dimension, from_value, to_value, cause

)

select * from final

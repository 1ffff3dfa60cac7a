-- What each source delivered on each as-of date (rows read, and each filled column's share of empty values),
-- beside its usual range: the median and median absolute deviation of its last var('drift').baseline_runs
-- deliveries before that date. A source that sent nothing on a date has no row for it.
with

deliveries as (

    select * from {{ ref('stg_dq__deliveries') }}

),

profiles as (

    select * from {{ ref('stg_dq__column_profiles') }}
    where as_of_date is not null

),

metrics as (

    select
        as_of_date,
        source_name,
        'rows_read' as metric,
        '' as column_name,
        cast(sum(rows_read) as double) as metric_value,
        sum(rows_read) as rows_observed
    from deliveries
    group by as_of_date, source_name

    union all

    select
        as_of_date,
        source_name,
        'null_share',
        column_name,
        sum(null_rows) * 1.0 / nullif(sum(rows_profiled), 0),
        sum(rows_profiled)
    from profiles
    group by as_of_date, source_name, column_name

),

earlier as (

    -- the same metric on the source's previous deliveries, most recent first
    select
        current_day.as_of_date,
        current_day.source_name,
        current_day.metric,
        current_day.column_name,
        past.as_of_date as baseline_date,
        past.metric_value as baseline_value,
        row_number() over (
            partition by current_day.as_of_date, current_day.source_name, current_day.metric, current_day.column_name
            order by past.as_of_date desc
        ) as recency
    from metrics as current_day
    inner join metrics as past
        on current_day.source_name = past.source_name
            and current_day.metric = past.metric
            and current_day.column_name = past.column_name
            and current_day.as_of_date > past.as_of_date

),

baseline as (

    select
        as_of_date,
        source_name,
        metric,
        column_name,
        count(*) as baseline_runs,
        min(baseline_date) as baseline_from,
        max(baseline_date) as baseline_to,
        median(baseline_value) as baseline_median
    from earlier
    where recency <= {{ var('drift')['baseline_runs'] }}
    group by as_of_date, source_name, metric, column_name

),

spread as (

    select
        earlier.as_of_date,
        earlier.source_name,
        earlier.metric,
        earlier.column_name,
        median(abs(earlier.baseline_value - baseline.baseline_median)) as baseline_mad
    from earlier
    inner join baseline
        on earlier.as_of_date = baseline.as_of_date
            and earlier.source_name = baseline.source_name
            and earlier.metric = baseline.metric
            and earlier.column_name = baseline.column_name
    where earlier.recency <= {{ var('drift')['baseline_runs'] }}
    group by earlier.as_of_date, earlier.source_name, earlier.metric, earlier.column_name

),

final as (

    select
        metrics.as_of_date,
        metrics.source_name,
        metrics.metric,
        metrics.column_name,
        metrics.metric_value,
        metrics.rows_observed,
        coalesce(baseline.baseline_runs, 0) as baseline_runs,
        baseline.baseline_from,
        baseline.baseline_to,
        baseline.baseline_median,
        spread.baseline_mad
    from metrics
    left join baseline
        on metrics.as_of_date = baseline.as_of_date
            and metrics.source_name = baseline.source_name
            and metrics.metric = baseline.metric
            and metrics.column_name = baseline.column_name
    left join spread
        on metrics.as_of_date = spread.as_of_date
            and metrics.source_name = spread.source_name
            and metrics.metric = spread.metric
            and metrics.column_name = spread.column_name

)

select * from final

{%- set drift = var('drift') -%}
-- Alerts, each with the figures it was raised on (crmgrade.yml monitoring.drift sets the thresholds):
--   grade_change     more customers changed grade since the previous graded date than grade_change_share;
--   segment_shift    a segment's share of customers moved more than segment_share_change since then;
--   source_volume    a source delivered far more or fewer rows than its usual (median of its last deliveries);
--   source_nulls     a column a source fills went empty (or filled) far more often than usual;
--   cut_point_shift  a quantile cut point moved more than cut_point_change (a share of its previous value) since
--                    the previous graded date, under the same spec version (history.grade_cut_points).
-- A source needs min_baseline_runs earlier deliveries before its volume or nulls can raise an alert, and the
-- difference must exceed `sigmas` standard errors of chance: sqrt(median) rows for a count of rows (Poisson),
-- sqrt(p (1 - p) / n) for a share of n rows (binomial) - a day of 3 rows says little about a share.
with

migrations as (

    select * from {{ ref('grade_migrations') }}
    where horizon = 'previous' and dimension = 'grade'

),

segments as (

    select * from {{ ref('segment_trends') }}
    where dimension = 'segment_en' and previous_date is not null

),

cut_points as (

    select * from {{ ref('grade_cut_points') }}
    where method = 'quantile' and cut_point is not null

),

graded_days as (

    select
        as_of_date,
        lag(as_of_date) over (order by as_of_date) as previous_date
    from (select distinct as_of_date from {{ ref('grade_cut_points') }}) as days

),

cut_point_moves as (

    select
        latest.as_of_date,
        graded_days.previous_date,
        latest.profile || '.' || latest.dimension || ' score ' || cast(latest.score as {{ dbt.type_string() }}) as subject,
        latest.cut_point,
        previous.cut_point as previous_cut_point
    from cut_points as latest
    inner join graded_days on latest.as_of_date = graded_days.as_of_date
    inner join cut_points as previous
        on graded_days.previous_date = previous.as_of_date
            and latest.spec_version = previous.spec_version
            and latest.profile = previous.profile
            and latest.dimension = previous.dimension
            and latest.score = previous.score

),

source_metrics as (

    select * from {{ ref('int_monitoring__source_metrics') }}
    where baseline_runs >= {{ drift['min_baseline_runs'] }}

),

grade_changes as (

    select
        as_of_date,
        max(compared_with_date) as compared_with_date,
        sum(customers) filter (where from_value != '(new)' and to_value != '(gone)') as graded_both,
        sum(customers) filter (where is_change and from_value != '(new)' and to_value != '(gone)') as changed
    from migrations
    group by as_of_date

),

grade_alerts as (

    select
        as_of_date,
        'grade_change' as alert_type,
        'grade' as subject,
        changed * 1.0 / graded_both as observed,
        cast(0 as double) as expected,
        {{ drift['grade_change_share'] }} as threshold,
        cast(1 as bigint) as baseline_runs,
        compared_with_date as baseline_from,
        compared_with_date as baseline_to,
        cast(changed as {{ dbt.type_string() }}) || ' of ' || cast(graded_both as {{ dbt.type_string() }})
        || ' customers graded on both dates changed grade since ' || cast(compared_with_date as {{ dbt.type_string() }})
        || ' (' || cast(round(100.0 * changed / graded_both, 1) as {{ dbt.type_string() }}) || '%, threshold '
        || cast(round(100.0 * {{ drift['grade_change_share'] }}, 1) as {{ dbt.type_string() }}) || '%)' as evidence
    from grade_changes
    where graded_both > 0
        and changed * 1.0 / graded_both > {{ drift['grade_change_share'] }}

),

segment_alerts as (

    select
        as_of_date,
        'segment_shift' as alert_type,
        value as subject,
        share_of_customers as observed,
        share_of_customers - share_change as expected,
        {{ drift['segment_share_change'] }} as threshold,
        cast(1 as bigint) as baseline_runs,
        previous_date as baseline_from,
        previous_date as baseline_to,
        value || ' went from ' || cast(round(100.0 * (share_of_customers - share_change), 1) as {{ dbt.type_string() }})
        || '% of customers on ' || cast(previous_date as {{ dbt.type_string() }}) || ' to '
        || cast(round(100.0 * share_of_customers, 1) as {{ dbt.type_string() }}) || '% (' || cast(customers_change as {{ dbt.type_string() }})
        || ' customers; threshold ' || cast(round(100.0 * {{ drift['segment_share_change'] }}, 1) as {{ dbt.type_string() }})
        || ' points)' as evidence
    from segments
    where abs(share_change) > {{ drift['segment_share_change'] }}

),

volume_alerts as (

    select
        as_of_date,
        'source_volume' as alert_type,
        source_name as subject,
        metric_value as observed,
        baseline_median as expected,
        {{ drift['volume_change'] }} as threshold,
        baseline_runs,
        baseline_from,
        baseline_to,
        source_name || ' delivered ' || cast(cast(metric_value as bigint) as {{ dbt.type_string() }}) || ' rows; usually '
        || cast(round(baseline_median, 1) as {{ dbt.type_string() }}) || ' (median of ' || cast(baseline_runs as {{ dbt.type_string() }})
        || ' deliveries ' || cast(baseline_from as {{ dbt.type_string() }}) || ' to ' || cast(baseline_to as {{ dbt.type_string() }})
        || ', median absolute deviation ' || cast(round(baseline_mad, 1) as {{ dbt.type_string() }}) || ')' as evidence
    from source_metrics
    where metric = 'rows_read'
        and abs(metric_value - baseline_median) > {{ drift['volume_change'] }} * baseline_median
        -- 1.4826 x MAD estimates the standard deviation of normally distributed volumes
        and abs(metric_value - baseline_median) > {{ drift['volume_mads'] }} * 1.4826 * baseline_mad
        and abs(metric_value - baseline_median) > {{ drift['sigmas'] }} * sqrt(baseline_median)

),

null_alerts as (

    select
        as_of_date,
        'source_nulls' as alert_type,
        source_name || '.' || column_name as subject,
        metric_value as observed,
        baseline_median as expected,
        {{ drift['null_share_change'] }} as threshold,
        baseline_runs,
        baseline_from,
        baseline_to,
        source_name || '.' || column_name || ' was empty in ' || cast(round(100.0 * metric_value, 1) as {{ dbt.type_string() }})
        || '% of rows; usually ' || cast(round(100.0 * baseline_median, 1) as {{ dbt.type_string() }}) || '% (median of '
        || cast(baseline_runs as {{ dbt.type_string() }}) || ' deliveries ' || cast(baseline_from as {{ dbt.type_string() }}) || ' to '
        || cast(baseline_to as {{ dbt.type_string() }}) || ')' as evidence
    from source_metrics
    where metric = 'null_share'
        and abs(metric_value - baseline_median) > {{ drift['null_share_change'] }}
        and abs(metric_value - baseline_median)
        > {{ drift['sigmas'] }} * sqrt(baseline_median * (1 - baseline_median) / rows_observed)

),

cut_point_alerts as (

    select
        as_of_date,
        'cut_point_shift' as alert_type,
        subject,
        cut_point as observed,
        previous_cut_point as expected,
        {{ drift['cut_point_change'] }} as threshold,
        cast(1 as bigint) as baseline_runs,
        previous_date as baseline_from,
        previous_date as baseline_to,
        subject || ': the cut point moved from ' || cast(previous_cut_point as {{ dbt.type_string() }}) || ' on '
        || cast(previous_date as {{ dbt.type_string() }}) || ' to ' || cast(cut_point as {{ dbt.type_string() }})
        || ' (threshold ' || cast(round(100.0 * {{ drift['cut_point_change'] }}, 1) as {{ dbt.type_string() }})
        || '% of the previous value)' as evidence
    from cut_point_moves
    where abs(cut_point - previous_cut_point) > {{ drift['cut_point_change'] }} * abs(previous_cut_point)

),

alerts as (

    select * from grade_alerts
    union all
    select * from cut_point_alerts
    union all
    select * from segment_alerts
    union all
    select * from volume_alerts
    union all
    select * from null_alerts

),

final as (

    select
        as_of_date,
        alert_type,
        subject,
        cast(observed as double) as observed,
        cast(expected as double) as expected,
        cast(threshold as double) as threshold,
        baseline_runs,
        baseline_from,
        baseline_to,
        evidence
    from alerts

)

select * from final

-- Data quality over time: per as-of date, source and rule, the rows checked and the rows that failed, from the
-- runs of that date; rule '(all rules)' holds the source's rows read, quarantined and removed as duplicates.
with

deliveries as (

    select * from {{ ref('stg_dq__deliveries') }}

),

results as (

    select * from {{ ref('stg_dq__validation_results') }}

),

run_dates as (

    select distinct
        run_id,
        as_of_date
    from deliveries

),

per_rule as (

    select
        run_dates.as_of_date,
        results.source_name,
        results.rule,
        max(results.on_failure) as on_failure,
        count(*) as files_checked,
        count(*) filter (where not results.success) as files_failing,
        sum(results.rows_checked) as rows_checked,
        sum(results.unexpected_count) as rows_failing,
        cast(null as bigint) as rows_duplicate
    from results
    inner join run_dates
        on results.run_id = run_dates.run_id
    group by run_dates.as_of_date, results.source_name, results.rule

),

per_source as (

    select
        as_of_date,
        source_name,
        '(all rules)' as rule,
        'quarantine' as on_failure,
        sum(files_judged) as files_checked,
        sum(files_stopped) as files_failing,
        sum(rows_read) as rows_checked,
        sum(rows_quarantined) as rows_failing,
        sum(rows_duplicate) as rows_duplicate
    from deliveries
    group by as_of_date, source_name

),

rows_per_rule as (

    select * from per_rule
    union all
    select * from per_source

),

final as (

    select
        *,
        rows_failing * 1.0 / nullif(rows_checked, 0) as failure_rate
    from rows_per_rule

)

select * from final

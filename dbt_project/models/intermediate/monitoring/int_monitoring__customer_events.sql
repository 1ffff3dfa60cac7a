-- What happened to a customer other than its own behaviour, for the causes of grade migrations
-- (grade_migrations): an identity run merged it with another customer or split it off again (either side of
-- the ledger row), or a file holding its orders was delivered again with other content (a data correction).
-- Identity events are numbered by the identity run, corrections timed by the run that judged the file: each on
-- the clock grade_history stamps its days with.
with

ledger as (

    select * from {{ ref('stg_identity__merges') }}

),

file_checks as (

    select * from {{ ref('stg_dq__file_checks') }}

),

order_lines as (

    select * from {{ ref('int_order_lines') }}

),

identity_events as (

    select
        customer_key,
        identity_run_seq
    from ledger
    union
    select
        other_key,
        identity_run_seq
    from ledger

),

replaced_files as (

    select distinct
        source_name,
        source_file,
        checked_at
    from file_checks
    where file_status = 'replaced'

),

corrections as (

    select distinct
        order_lines.customer_key,
        replaced_files.checked_at
    from replaced_files
    inner join order_lines
        on
            replaced_files.source_name = order_lines.source_name
            and replaced_files.source_file = order_lines.source_file
    where order_lines.customer_key is not null

),

final as (

    select
        customer_key,
        'identity' as cause,
        identity_run_seq,
        cast(null as timestamp) as checked_at
    from identity_events

    union all

    select
        customer_key,
        'data_correction' as cause,
        cast(null as bigint) as identity_run_seq,
        checked_at
    from corrections

)

select * from final

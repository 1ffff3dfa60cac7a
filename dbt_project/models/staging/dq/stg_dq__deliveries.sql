with

source as (

    select * from {{ source('dq', 'deliveries') }}

),

renamed as (

    select
        run_id,
        cast(as_of_date as date) as as_of_date,
        source as source_name,
        cast(files_judged as bigint) as files_judged,
        cast(files_stopped as bigint) as files_stopped,
        cast(rows_read as bigint) as rows_read,
        cast(rows_loaded as bigint) as rows_loaded,
        cast(rows_quarantined as bigint) as rows_quarantined,
        cast(rows_duplicate as bigint) as rows_duplicate,
        recorded_at

    from source

)

select * from renamed

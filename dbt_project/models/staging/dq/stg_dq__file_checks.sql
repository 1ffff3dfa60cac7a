with

source as (

    select * from {{ source('dq', 'reconciliation') }}

),

renamed as (

    select
        -- ids
        run_id,
        source as source_name,
        entity,
        file as source_file,
        file_sha256 as source_file_sha256,
        -- strings
        status as file_status,
        -- numerics
        cast(rows_read as bigint) as rows_read,
        cast(rows_loaded as bigint) as rows_loaded,
        cast(rows_quarantined as bigint) as rows_quarantined,
        cast(rows_duplicate as bigint) as rows_duplicate,
        -- booleans
        balanced as is_balanced,
        -- dates and timestamps
        checked_at

    from source

)

select * from renamed

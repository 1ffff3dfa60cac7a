with

source as (

    select * from {{ source('raw', 'interactions') }}

),

renamed as (

    select
        -- ids
        interaction_id,
        member_id,
        -- strings
        phone,
        email,
        channel,
        interaction_type,
        direction,
        outcome,
        -- numerics
        duration_seconds,
        -- dates and timestamps
        occurred_at,
        -- lineage
        _source as source_name,
        _source_file as source_file,
        _row_number as source_row_number,
        _file_sha256 as source_file_sha256,
        _ingested_at as ingested_at,
        _parse_errors as parse_errors

    from source

)

select * from renamed

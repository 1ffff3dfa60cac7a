with

source as (

    select * from {{ source('raw', 'service_tickets') }}

),

renamed as (

    select
        -- ids
        ticket_id,
        member_id,
        -- strings
        phone,
        category,
        channel,
        status,
        -- booleans
        is_complaint,
        -- dates and timestamps
        opened_at,
        resolved_at,
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

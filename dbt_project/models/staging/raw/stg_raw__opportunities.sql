with

source as (

    select * from {{ source('raw', 'opportunities') }}

),

renamed as (

    select
        -- ids
        opportunity_id,
        lead_id,
        member_id,
        -- strings
        company_name,
        stage,
        -- numerics
        amount,
        -- dates and timestamps
        created_at,
        closed_at,
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

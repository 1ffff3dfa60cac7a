with

source as (

    select * from {{ source('raw', 'surveys') }}

),

renamed as (

    select
        -- ids
        response_id,
        member_id,
        -- strings
        phone,
        survey_type,
        comment,
        -- numerics
        score,
        -- dates and timestamps
        answered_at,
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

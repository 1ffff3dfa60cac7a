with

source as (

    select * from {{ source('raw', 'customers') }}

),

renamed as (

    select
        -- ids
        member_id,
        -- strings
        name,
        phone,
        email,
        gender,
        province,
        city,
        occupation,
        company_name,
        industry,
        company_size,
        member_level,
        wechat_unionid,
        -- numerics
        points,
        -- booleans
        consent_marketing,
        consent_sms,
        -- dates and timestamps
        birth_date,
        registered_at,
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

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
        first_name,
        last_name,
        national_id,
        phone,
        email,
        gender,
        province,
        city,
        address,
        postcode,
        occupation,
        company_name,
        company_registration_id,
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
        {{ staging_lineage_columns() }}

    from source

)

select * from renamed

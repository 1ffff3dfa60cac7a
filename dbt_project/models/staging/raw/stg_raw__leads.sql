with

source as (

    select * from {{ source('raw', 'leads') }}

),

renamed as (

    select
        -- ids
        lead_id,
        member_id,
        -- strings
        company_name,
        company_registration_id,
        contact_name,
        phone,
        email,
        lead_source,
        status,
        -- dates and timestamps
        created_at,
        -- lineage
        {{ staging_lineage_columns() }}

    from source

)

select * from renamed

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
        {{ staging_lineage_columns() }}

    from source

)

select * from renamed

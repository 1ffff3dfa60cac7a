with

source as (

    select * from {{ source('raw', 'campaign_responses') }}

),

renamed as (

    select
        -- ids
        campaign_id,
        member_id,
        -- strings
        phone,
        response_type,
        -- booleans
        is_holdout,
        -- dates and timestamps
        targeted_at,
        responded_at,
        -- lineage
        {{ staging_lineage_columns() }}

    from source

)

select * from renamed

with

source as (

    select * from {{ source('raw', 'campaigns') }}

),

renamed as (

    select
        -- ids
        campaign_id,
        -- strings
        campaign_name,
        channel,
        -- numerics
        budget,
        -- dates and timestamps
        started_on,
        ended_on,
        -- lineage
        {{ staging_lineage_columns() }}

    from source

)

select * from renamed

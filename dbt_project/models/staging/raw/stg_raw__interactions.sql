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
        {{ staging_lineage_columns() }}

    from source

)

select * from renamed

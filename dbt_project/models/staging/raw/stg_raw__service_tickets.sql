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
        {{ staging_lineage_columns() }}

    from source

)

select * from renamed

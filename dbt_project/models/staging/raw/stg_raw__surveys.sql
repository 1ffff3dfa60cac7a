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
        {{ staging_lineage_columns() }}

    from source

)

select * from renamed

with

source as (

    select * from {{ source('identity', 'source_trust') }}

),

renamed as (

    select
        source_name,
        trust_rank

    from source

)

select * from renamed

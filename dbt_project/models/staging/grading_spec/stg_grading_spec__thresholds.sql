with

source as (

    select * from {{ source('grading_spec', 'thresholds') }}

),

renamed as (

    select
        profile,
        dimension,
        position,
        threshold
    from source

)

select * from renamed

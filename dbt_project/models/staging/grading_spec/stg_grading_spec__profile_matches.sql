with

source as (

    select * from {{ source('grading_spec', 'profile_matches') }}

),

renamed as (

    select
        profile,
        attribute,
        value
    from source

)

select * from renamed

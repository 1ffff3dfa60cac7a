with

source as (

    select * from {{ source('grading_spec', 'settings') }}

),

renamed as (

    select
        setting,
        value
    from source

)

select * from renamed

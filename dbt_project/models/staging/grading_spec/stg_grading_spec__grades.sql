with

source as (

    select * from {{ source('grading_spec', 'grades') }}

),

renamed as (

    select
        profile,
        grade,
        label,
        min_score,
        grade_rank
    from source

)

select * from renamed

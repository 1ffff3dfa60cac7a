with

source as (

    select * from {{ source('grading_spec', 'dimensions') }}

),

renamed as (

    select
        profile,
        dimension,
        indicator,
        method,
        higher_is_better,
        weight,
        exclude_highest_share,
        cadence_min_gaps,
        cadence_default_gap_days
    from source

)

select * from renamed

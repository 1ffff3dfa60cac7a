with

source as (

    select * from {{ source('grading_spec', 'settings') }}

),

renamed as (

    select
        purchase_statuses,
        monetary_basis,
        segment_split,
        segment_min_score
    from source

)

select * from renamed

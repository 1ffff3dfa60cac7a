with

source as (

    select * from {{ source('grading_spec', 'profiles') }}

),

renamed as (

    select
        profile,
        priority,
        lookback_days,
        churn_after_days
    from source

)

select * from renamed

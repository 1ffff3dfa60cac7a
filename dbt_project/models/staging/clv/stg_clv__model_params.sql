with

source as (

    select * from {{ source('clv', 'model_params') }}

),

renamed as (

    select
        cast(as_of_date as date) as as_of_date,
        model,
        profile as fitted_on,
        parameter,
        cast(value as double) as value,
        time_unit,
        cast(n_customers as bigint) as n_customers,
        cast(log_likelihood as double) as log_likelihood,
        converged,
        cast(fitted_as_of as date) as fitted_as_of,
        fit_key

    from source

)

select * from renamed

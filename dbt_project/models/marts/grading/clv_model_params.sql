-- The CLV models' fitted parameters, for reading the predictions: rates are per time_unit.
with

params as (

    select * from {{ ref('stg_clv__model_params') }}

),

final as (

    select
        as_of_date,
        model,
        fitted_on,
        parameter,
        value,
        time_unit,
        n_customers,
        log_likelihood,
        converged,
        fitted_as_of
    from params

)

select * from final

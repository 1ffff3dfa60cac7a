with

source as (

    select * from {{ source('evaluation', 'backtest_recommendations') }}

)

select
    cast(as_of_date as date) as as_of_date,
    cast(horizon_days as {{ dbt.type_bigint() }}) as horizon_days,
    cast(basis as {{ dbt.type_string() }}) as basis,
    cast(customers as {{ dbt.type_bigint() }}) as customers,
    cast(recommendations as {{ dbt.type_bigint() }}) as recommendations,
    cast(hits as {{ dbt.type_bigint() }}) as hits,
    cast(hit_rate as {{ dbt.type_float() }}) as hit_rate,
    cast(customers_with_a_hit as {{ dbt.type_bigint() }}) as customers_with_a_hit,
    cast(customer_hit_rate as {{ dbt.type_float() }}) as customer_hit_rate,
    cast(chance_hit_rate as {{ dbt.type_float() }}) as chance_hit_rate,
    cast(lift as {{ dbt.type_float() }}) as lift
from source

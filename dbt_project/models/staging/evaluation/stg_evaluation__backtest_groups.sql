with

source as (

    select * from {{ source('evaluation', 'backtest_groups') }}

)

select
    cast(as_of_date as date) as as_of_date,
    cast(horizon_days as {{ dbt.type_int() }}) as horizon_days,
    cast(grouped_by as {{ dbt.type_string() }}) as grouped_by,
    cast(group_value as {{ dbt.type_string() }}) as group_value,
    cast(customers as {{ dbt.type_bigint() }}) as customers,
    cast(buyers as {{ dbt.type_bigint() }}) as buyers,
    cast(repeat_rate as {{ dbt.type_float() }}) as repeat_rate,
    cast(churn_rate as {{ dbt.type_float() }}) as churn_rate,
    cast(revenue as {{ dbt.type_float() }}) as revenue,
    cast(revenue_per_customer as {{ dbt.type_float() }}) as revenue_per_customer,
    cast(lift as {{ dbt.type_float() }}) as lift,
    cast(customers_predicted as {{ dbt.type_bigint() }}) as customers_predicted,
    cast(predicted_revenue as {{ dbt.type_float() }}) as predicted_revenue
from source

with

source as (

    select * from {{ source('evaluation', 'backtest_scores') }}

)

select
    cast(as_of_date as date) as as_of_date,
    cast(horizon_days as {{ dbt.type_bigint() }}) as horizon_days,
    cast(score as {{ dbt.type_string() }}) as score,
    cast(customers as {{ dbt.type_bigint() }}) as customers,
    cast(buyers as {{ dbt.type_bigint() }}) as buyers,
    cast(auc_repeat as {{ dbt.type_float() }}) as auc_repeat,
    cast(gini_repeat as {{ dbt.type_float() }}) as gini_repeat,
    cast(gini_revenue as {{ dbt.type_float() }}) as gini_revenue
from source

with

source as (

    select * from {{ source('tags', 'customer_tags') }}

)

select
    cast(customer_key as {{ dbt.type_string() }}) as customer_key,
    cast(tag as {{ dbt.type_string() }}) as tag,
    cast(tag_group as {{ dbt.type_string() }}) as tag_group,
    cast(rule as {{ dbt.type_string() }}) as rule,
    cast(as_of_date as date) as as_of_date
from source

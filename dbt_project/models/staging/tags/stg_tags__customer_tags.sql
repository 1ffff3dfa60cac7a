with

source as (

    select * from {{ source('tags', 'customer_tags') }}

)

select
    cast(customer_key as varchar) as customer_key,
    cast(tag as varchar) as tag,
    cast(tag_group as varchar) as tag_group,
    cast(rule as varchar) as rule,
    cast(as_of_date as date) as as_of_date
from source

with

source as (

    select * from {{ source('privacy', 'salt') }}

)

select cast(salt as {{ dbt.type_string() }}) as salt
from source

with

source as (

    select * from {{ source('privacy', 'salt') }}

)

select cast(salt as varchar) as salt
from source

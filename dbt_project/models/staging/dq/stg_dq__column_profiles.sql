with

source as (

    select * from {{ source('dq', 'column_profiles') }}

),

renamed as (

    select
        run_id,
        cast(as_of_date as date) as as_of_date,
        source as source_name,
        entity,
        file as file_path,
        file_sha256,
        column_name,
        cast(rows_profiled as bigint) as rows_profiled,
        cast(null_rows as bigint) as null_rows,
        profiled_at

    from source

)

select * from renamed

with

source as (

    select * from {{ source('dq', 'validation_results') }}

),

renamed as (

    select
        run_id,
        source as source_name,
        entity,
        file as file_path,
        file_sha256,
        suite,
        rule,
        expectation_type,
        on_failure,
        success,
        cast(rows_checked as bigint) as rows_checked,
        cast(unexpected_count as bigint) as unexpected_count,
        validated_at

    from source

)

select * from renamed

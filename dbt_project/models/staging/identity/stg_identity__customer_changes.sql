with

source as (

    select * from {{ source('identity', 'customer_changes') }}

),

renamed as (

    select
        -- ids
        customer_key,
        run_seq as identity_run_seq,
        run_id as identity_run_id,
        -- strings
        change as change_kind,
        -- dates and timestamps
        changed_at

    from source

)

select * from renamed

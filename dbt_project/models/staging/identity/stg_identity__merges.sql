with

source as (

    select * from {{ source('identity', 'merges') }}

),

renamed as (

    select
        -- ids
        customer_key,
        other_key,
        run_seq as identity_run_seq,
        run_id as identity_run_id,
        -- strings
        event as merge_event,
        reason,
        -- numerics
        cast(records as bigint) as records,
        -- dates and timestamps
        recorded_at

    from source

)

select * from renamed

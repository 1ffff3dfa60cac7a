with

source as (

    select * from {{ source('identity', 'record_links') }}

),

renamed as (

    select
        -- ids
        customer_key,
        identifier_group,
        -- record lineage (joins to every staged raw row)
        source_name,
        source_file,
        source_row_number,
        entity,
        -- why the record has this key
        link_rule,
        linked_by,
        match_probability,
        matched_source,
        -- dates and timestamps
        observed_at,
        run_id as identity_run_id

    from source

)

select * from renamed

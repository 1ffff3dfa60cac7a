with

source as (

    select * from {{ source('raw', 'orders') }}

),

renamed as (

    select
        -- ids
        order_id,
        member_id,
        buyer_id,
        store_id,
        product_id,
        -- strings
        buyer_name,
        phone,
        email,
        company_name,
        province,
        city,
        product_name,
        status,
        -- numerics
        line_number,
        quantity,
        unit_price,
        amount,
        refund_amount,
        -- dates and timestamps
        ordered_at,
        -- lineage
        _source as source_name,
        _source_file as source_file,
        _row_number as source_row_number,
        _file_sha256 as source_file_sha256,
        _ingested_at as ingested_at,
        _parse_errors as parse_errors

    from source

)

select * from renamed

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
        address,
        postcode,
        product_name,
        status,
        currency,
        -- numerics
        line_number,
        quantity,
        unit_price,
        amount,
        refund_amount,
        cost_amount,
        -- dates and timestamps
        ordered_at,
        updated_at,
        -- lineage
        {{ staging_lineage_columns() }}

    from source

)

select * from renamed

-- Order lines of every channel with the identity graph's customer key and a product key, of each order's latest
-- delivery only (an order re-listed in a later file replaces its earlier state). Rows whose values did not parse or
-- whose amount is negative are held back here; validation turns them into quarantine entries with the reason.
-- Built per customer: a run redoes the lines of the customers identity changed, and the anonymous lines of the
-- files delivered since (macros/customer_increment.sql).
{{ config(**customer_increment_config(files_from='stg_raw__orders')) }}

with

staged as (

    select * from {{ ref('stg_raw__orders') }}

),

-- an order delivered again in a later file is what that file says (macros/latest_delivery.sql)
latest_deliveries as (

    {{ latest_delivery('staged') }}

),

order_rows as (

    select * from latest_deliveries
    where parse_errors is null and coalesce(amount, 0) >= 0

),

lines as (

    {{ with_customer_key('order_rows') }}

),

final as (

    select
        source_name,
        order_id,
        line_number,
        customer_key,
        ordered_at,
        status as line_status,
        -- marketplaces export titles without SKUs: the name is the key every channel shares
        coalesce(nullif(trim(product_name), ''), product_id) as product_key,
        product_id,
        product_name,
        quantity,
        amount,
        refund_amount,
        cost_amount,
        currency,
        updated_at,
        store_id,
        source_file,
        source_row_number,
        ingested_at
    from lines

)

select * from final

-- Order lines of every channel with the identity graph's customer key and a product key. Rows whose values
-- did not parse or whose amount is negative are held back here; validation turns them into quarantine
-- entries with the reason.
with

order_rows as (

    select * from {{ ref('stg_raw__orders') }}
    where parse_errors is null and coalesce(amount, 0) >= 0

),

graph as (

    select * from {{ ref('int_identity__graph') }}

),

final as (

    select
        order_rows.source_name,
        order_rows.order_id,
        order_rows.line_number,
        graph.customer_key,
        order_rows.ordered_at,
        order_rows.status as line_status,
        -- marketplaces export titles without SKUs: the name is the key every channel shares
        coalesce(nullif(trim(order_rows.product_name), ''), order_rows.product_id) as product_key,
        order_rows.product_id,
        order_rows.product_name,
        order_rows.quantity,
        order_rows.amount,
        order_rows.refund_amount,
        order_rows.store_id,
        order_rows.source_file,
        order_rows.source_row_number
    from order_rows
    left join graph
        on order_rows.source_name = graph.source_name
        and order_rows.source_file = graph.source_file
        and order_rows.source_row_number = graph.source_row_number

)

select * from final

-- Order lines of every channel with their order's date and whether the order is a purchase (macros/purchase.sql):
-- what a product-level reader needs (the recommendation backtest, BI by product) without the intermediate layer.
-- A projection of models built per customer: a view, so a nightly run copies nothing.
{{ config(materialized='view') }}

with

lines as (

    select * from {{ ref('int_order_lines') }}

),

orders as (

    select * from {{ ref('int_orders') }}

),

final as (

    select
        lines.source_name,
        lines.order_id,
        lines.line_number,
        lines.customer_key,
        orders.ordered_at,
        orders.order_date,
        orders.is_purchase,
        lines.line_status,
        lines.product_key,
        lines.product_id,
        lines.product_name,
        lines.quantity,
        lines.amount,
        lines.refund_amount,
        lines.cost_amount,
        lines.currency,
        lines.store_id,
        lines.source_file,
        lines.source_row_number
    from lines
    inner join orders
        on
            lines.source_name = orders.source_name
            and lines.order_id = orders.order_id

)

select * from final

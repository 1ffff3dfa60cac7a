-- Orders of every channel at order grain, net of refunds and cancellations, with their customer.
-- A projection of a model built per customer: a view, so a nightly run copies nothing.
{{ config(materialized='view') }}

with

orders as (

    select * from {{ ref('int_orders') }}

),

final as (

    select
        source_name,
        order_id,
        customer_key,
        ordered_at,
        order_date,
        order_status,
        is_purchase,
        line_count,
        gross_amount,
        refund_amount,
        net_amount,
        cost_amount,
        margin_amount,
        currency,
        store_id
    from orders

)

select * from final

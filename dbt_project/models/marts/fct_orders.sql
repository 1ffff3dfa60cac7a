-- Orders of every channel at order grain, net of refunds and cancellations, with their customer.
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
        store_id
    from orders

)

select * from final

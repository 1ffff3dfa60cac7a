-- Orders from every channel at order grain: lines summed, refunds netted, the identity graph's customer key.
-- Rows whose values did not parse or whose amount is negative are held back here; validation (issue 3)
-- turns them into quarantine entries with the reason.
with

order_rows as (

    select * from {{ ref('stg_raw__orders') }}
    where parse_errors is null and coalesce(amount, 0) >= 0

),

graph as (

    select * from {{ ref('int_identity__graph') }}

),

keyed as (

    select
        order_rows.*,
        graph.customer_key
    from order_rows
    left join graph
        on order_rows.source_name = graph.source_name
        and order_rows.source_file = graph.source_file
        and order_rows.source_row_number = graph.source_row_number

),

orders as (

    select
        source_name,
        order_id,
        min(customer_key) as customer_key,
        min(ordered_at) as ordered_at,
        count(*) as line_count,
        sum(amount) as gross_amount,
        sum(coalesce(refund_amount, 0)) as refund_amount,
        case
            when bool_and(status = 'cancelled') then 'cancelled'
            when bool_and(status = 'refunded') then 'refunded'
            when bool_or(status in ('refunded', 'partially_refunded')) then 'partially_refunded'
            else 'completed'
        end as order_status,
        min(store_id) as store_id,
        min(source_file) as source_file
    from keyed
    group by source_name, order_id

),

final as (

    select
        source_name,
        order_id,
        customer_key,
        ordered_at,
        cast(ordered_at as date) as order_date,
        line_count,
        order_status,
        gross_amount,
        refund_amount,
        case
            when order_status = 'cancelled' then 0
            else greatest(gross_amount - refund_amount, 0)
        end as net_amount,
        order_status in ('completed', 'partially_refunded') as is_purchase,
        store_id,
        source_file
    from orders

)

select * from final

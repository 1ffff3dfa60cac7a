-- Orders from every channel at order grain: lines summed, refunds netted, the identity graph's customer key.
-- A credit note (return lines whose order is unknown) is an order of negative net value.
-- Built per customer: a run redoes the orders of the customers identity changed and the anonymous orders with
-- lines delivered since (macros/customer_increment.sql).
{{ config(**customer_increment_config(files_from='int_order_lines', unowned_key='source_name, order_id')) }}

with

lines_of_orders as (

    select * from {{ ref('int_order_lines') }}
    {%- if customer_increment().incremental %}
    where (source_name, order_id) in (
        select (source_name, order_id) from {{ ref('int_order_lines') }}
        where {{ changed_customers_only('customer_key') }}
            or (customer_key is null and {{ delivered_since_last_build() }})
    )
    {%- endif %}

),

-- what counts as a purchase (grading.yml purchase_statuses); a change rebuilds every customer's orders: the
-- statuses are part of this model's fingerprint (pipeline/defs/dbt/assets.py)
settings as (

    select purchase_statuses from {{ ref('stg_grading_spec__settings') }}

),

-- int_order_lines keeps each order's latest delivery; again here, since an increment leaves the superseded lines
-- of an order nobody owns in place (their file was not delivered since)
order_lines as (

    {{ latest_delivery('lines_of_orders') }}

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
        -- an order's cost only when every line has one: a partial cost would overstate the margin
        case when count(cost_amount) = count(*) then sum(cost_amount) end as cost_amount,
        -- validation lets through only the grading currency (expectations/orders.json): one per order
        min(currency) as currency,
        case
            when bool_and(line_status = 'cancelled') then 'cancelled'
            when bool_and(line_status = 'refunded') then 'refunded'
            -- a credit note: return lines only (contract `returns`), the order they return unknown
            when bool_and(line_status = 'returned') then 'returned'
            -- a return line within an invoice refunds that invoice
            when bool_or(line_status in ('refunded', 'partially_refunded', 'returned')) then 'partially_refunded'
            else 'completed'
        end as order_status,
        min(store_id) as store_id,
        min(source_file) as source_file
    from order_lines
    group by source_name, order_id

),

valued as (

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
        currency,
        case
            when order_status = 'cancelled' then 0
            -- what the credit note gives back lowers its customer's net spend (int_customer__purchases)
            when order_status = 'returned' then -refund_amount
            else greatest(gross_amount - refund_amount, 0)
        end as net_amount,
        cost_amount,
        {{ is_purchase('orders.order_status', 'orders.gross_amount', 'settings.purchase_statuses') }} as is_purchase,
        store_id,
        source_file
    from orders
    cross join settings

),

final as (

    select
        *,
        -- net spend less the cost of the goods kept: a refund returns its share of the goods (their cost scaled by
        -- net / gross), a cancelled order ships nothing; a free sample or replacement costs its goods
        case
            when cost_amount is null then null
            when order_status = 'cancelled' then 0
            when gross_amount <= 0 then -cost_amount
            else cast(net_amount - cost_amount * net_amount / gross_amount as decimal(38, 4))
        end as margin_amount
    from valued

)

select * from final

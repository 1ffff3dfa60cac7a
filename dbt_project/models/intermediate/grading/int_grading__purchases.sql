-- The orders grading counts as purchases: of a known customer (not an anonymous receipt), before the as-of date,
-- in one of grading.yml's purchase_statuses and of a positive value, valued gross or net of refunds as grading.yml's `monetary` says,
-- and whether its return window (grading.yml return_window_days) is still open on the as-of date.
-- A view: the grading models read it, nothing else is computed here.
{{ config(materialized='view') }}

with

orders as (

    select * from {{ grading_input('orders') }}

),

settings as (

    select * from {{ ref('stg_grading_spec__settings') }}

),

final as (

    select
        orders.source_name,
        orders.order_id,
        orders.customer_key,
        orders.ordered_at,
        orders.order_date,
        orders.gross_amount,
        orders.net_amount,
        case when settings.monetary_basis = 'gross' then orders.gross_amount else orders.net_amount end as amount,
        -- a refund can still come: the net amount may yet fall
        {{ dbt.datediff('orders.order_date', as_of_date(), 'day') }} <= settings.return_window_days
            as is_return_window_open
    from orders
    cross join settings
    where orders.customer_key is not null
        and orders.ordered_at < {{ as_of_timestamp() }}
        and {{ is_purchase('orders.order_status', 'orders.gross_amount', 'settings.purchase_statuses') }}

)

select * from final

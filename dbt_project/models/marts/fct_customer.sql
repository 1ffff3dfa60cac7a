-- The customer fact table: behaviour from orders up to the as-of date, attributes from the golden record.
with

orders as (

    select * from {{ ref('int_orders') }}
    where customer_key is not null

),

customers as (

    select * from {{ ref('dim_customer') }}

),

as_of as (

    select {{ as_of_date(ref('int_orders')) }} as as_of_date

),

order_behaviour as (

    select
        orders.customer_key,
        min(orders.ordered_at) filter (where orders.is_purchase) as first_purchase_at,
        max(orders.ordered_at) filter (where orders.is_purchase) as last_purchase_at,
        count(*) filter (where orders.is_purchase) as purchase_count,
        count(*) as order_count,
        sum(orders.gross_amount) filter (where orders.order_status != 'cancelled') as gross_amount,
        sum(orders.net_amount) as net_amount,
        count(distinct orders.source_name) as channel_count
    from orders
    cross join as_of
    where orders.order_date <= as_of.as_of_date
    group by orders.customer_key

),

final as (

    select
        customers.customer_key,
        as_of.as_of_date,
        -- behaviour
        order_behaviour.first_purchase_at,
        order_behaviour.last_purchase_at,
        {{ dbt.datediff('cast(order_behaviour.last_purchase_at as date)', 'as_of.as_of_date', 'day') }}
            as recency_days,
        coalesce(order_behaviour.purchase_count, 0) as frequency,
        coalesce(order_behaviour.net_amount, 0) as monetary,
        coalesce(order_behaviour.gross_amount, 0) as gross_amount,
        coalesce(order_behaviour.order_count, 0) as order_count,
        coalesce(order_behaviour.channel_count, 0) as channel_count,
        -- attributes
        customers.is_member,
        customers.member_id,
        customers.gender,
        customers.province,
        customers.city,
        customers.occupation,
        customers.industry,
        customers.member_level,
        customers.points
    from customers
    cross join as_of
    left join order_behaviour on customers.customer_key = order_behaviour.customer_key

)

select * from final

-- Purchase behaviour per customer from orders placed before the as-of date: recency, frequency, gross and
-- net value (credit notes netted), average order value, the channels bought through.
with

orders as (

    select * from {{ ref('int_orders') }}
    where customer_key is not null
        and ordered_at < {{ as_of_timestamp() }}

),

aggregated as (

    select
        customer_key,
        min(ordered_at) filter (where is_purchase) as first_purchase_at,
        max(ordered_at) filter (where is_purchase) as last_purchase_at,
        count(*) filter (where is_purchase) as lifetime_frequency,
        count(*) as order_count,
        -- a credit note's value is no spend: it is a refund (of an order the export does not name)
        coalesce(sum(gross_amount) filter (where order_status not in ('cancelled', 'returned')), 0)
            as lifetime_monetary_gross,
        coalesce(sum(refund_amount) filter (where order_status != 'cancelled'), 0) as refund_amount,
        coalesce(-sum(net_amount) filter (where order_status = 'returned'), 0) as credit_note_amount,
        -- credit notes lower it, never below nothing: a return of goods bought before the data began
        greatest(sum(net_amount), 0) as lifetime_monetary_net,
        -- of the orders with a cost: what they left after it, and what share of the net spend they are
        sum(margin_amount) as margin,
        sum(net_amount) filter (where margin_amount is not null) as net_with_cost,
        -- the share of what was bought that has a cost: over the orders, credit notes left out (their cost unknown)
        sum(net_amount) filter (where margin_amount is not null and order_status != 'returned') as bought_with_cost,
        sum(net_amount) filter (where order_status != 'returned') as bought_net,
        {{ sorted_distinct_list('source_name', where='is_purchase') }} as purchase_channels,
        count(distinct source_name) filter (where is_purchase) as purchase_channel_count
    from orders
    group by customer_key

),

final as (

    select
        customer_key,
        first_purchase_at,
        last_purchase_at,
        -- whole days from the last purchase date: a purchase the day before the as-of date is 1
        {{ dbt.datediff('cast(last_purchase_at as date)', as_of_date(), 'day') }} as recency_days,
        lifetime_frequency,
        order_count,
        lifetime_monetary_gross,
        refund_amount,
        credit_note_amount,
        lifetime_monetary_net,
        margin,
        margin / nullif(net_with_cost, 0) as margin_rate,
        case when bought_net > 0 then coalesce(bought_with_cost, 0) / bought_net end as margin_cost_coverage,
        purchase_channels,
        purchase_channel_count
    from aggregated

)

select * from final

-- Purchases and spend of every graded customer within the profile's look-back window: how many (frequency),
-- the spend grading.yml scores (monetary: net or gross), both kept, and the part of the net spend whose return
-- window is still open (provisional: refunds may yet lower it). Credit notes of the window (int_orders status
-- 'returned': returns whose original order is unknown) lower the net spend, never below 0.
with

customers as (

    select * from {{ ref('int_grading__customer_profiles') }}

),

purchases as (

    select * from {{ ref('int_grading__purchases') }}

),

in_window as (

    select
        customers.customer_key,
        purchases.ordered_at,
        purchases.amount,
        purchases.gross_amount,
        purchases.net_amount,
        purchases.is_return_window_open
    from customers
    inner join purchases on customers.customer_key = purchases.customer_key
    where purchases.ordered_at >= {{ dbt.dateadd('day', '-1 * customers.lookback_days', as_of_timestamp()) }}

),

settings as (

    select * from {{ ref('stg_grading_spec__settings') }}

),

credits as (

    select
        customers.customer_key,
        -sum(orders.net_amount) as credit_note_amount
    from customers
    inner join {{ grading_input('orders') }} as orders on customers.customer_key = orders.customer_key
    where orders.order_status = 'returned'
        and orders.ordered_at < {{ as_of_timestamp() }}
        and orders.ordered_at >= {{ dbt.dateadd('day', '-1 * customers.lookback_days', as_of_timestamp()) }}
    group by customers.customer_key

),

totals as (

    select
        customer_key,
        count(*) as frequency,
        sum(amount) as monetary,
        sum(gross_amount) as monetary_gross,
        sum(net_amount) as monetary_net,
        coalesce(sum(net_amount) filter (where is_return_window_open), 0) as monetary_net_provisional
    from in_window
    group by customer_key

),

netted as (

    select
        customers.customer_key,
        customers.as_of_date,
        customers.profile,
        coalesce(totals.frequency, 0) as frequency,
        coalesce(totals.monetary, 0) as monetary,
        coalesce(totals.monetary_gross, 0) as monetary_gross,
        greatest(coalesce(totals.monetary_net, 0) - coalesce(credits.credit_note_amount, 0), 0) as monetary_net,
        coalesce(totals.monetary_net_provisional, 0) as monetary_net_provisional,
        coalesce(credits.credit_note_amount, 0) as credit_note_amount
    from customers
    left join totals on customers.customer_key = totals.customer_key
    left join credits on customers.customer_key = credits.customer_key

),

final as (

    select
        netted.customer_key,
        netted.as_of_date,
        netted.profile,
        netted.frequency,
        -- the gross basis counts what was bought; the net basis what was kept, credit notes included
        case when settings.monetary_basis = 'gross' then netted.monetary else netted.monetary_net end as monetary,
        netted.monetary_gross,
        netted.monetary_net,
        least(netted.monetary_net_provisional, netted.monetary_net) as monetary_net_provisional,
        netted.credit_note_amount
    from netted
    cross join settings

)

select * from final

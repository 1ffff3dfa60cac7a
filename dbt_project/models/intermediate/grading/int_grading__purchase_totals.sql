-- Purchases and spend of every graded customer within the profile's look-back window: how many (frequency),
-- the spend grading.yml scores (monetary: net or gross), both kept, and the part of the net spend whose return
-- window is still open (provisional: refunds may yet lower it).
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

final as (

    select
        customers.customer_key,
        customers.as_of_date,
        customers.profile,
        coalesce(totals.frequency, 0) as frequency,
        coalesce(totals.monetary, 0) as monetary,
        coalesce(totals.monetary_gross, 0) as monetary_gross,
        coalesce(totals.monetary_net, 0) as monetary_net,
        coalesce(totals.monetary_net_provisional, 0) as monetary_net_provisional
    from customers
    left join totals on customers.customer_key = totals.customer_key

)

select * from final

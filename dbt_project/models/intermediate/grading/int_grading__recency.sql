-- Recency per graded customer: days since the last purchase before the as-of date and, where the profile judges
-- recency by cadence (grading.yml `cadence`), the customer's typical gap between purchase days (the median gap
-- within the profile's look-back window once there are `min_gaps` gaps, else the profile's default_gap_days)
-- and the days since the last purchase divided by it: a yearly buyer 120 days on is at 0.33, not lapsed.
with

customers as (

    select * from {{ ref('int_grading__customer_profiles') }}

),

purchases as (

    select * from {{ ref('int_grading__purchases') }}

),

recency_dimensions as (

    select
        profile,
        cadence_min_gaps,
        cadence_default_gap_days
    from {{ ref('stg_grading_spec__dimensions') }}
    where dimension = 'recency'

),

purchase_days as (

    select distinct
        customers.customer_key,
        purchases.order_date as purchased_on,
        purchases.ordered_at >= {{ dbt.dateadd('day', '-1 * customers.lookback_days', as_of_timestamp()) }}
            as in_window
    from customers
    inner join purchases on customers.customer_key = purchases.customer_key

),

gaps as (

    select
        customer_key,
        {{ dbt.datediff(
            'lag(purchased_on) over (partition by customer_key order by purchased_on)', 'purchased_on', 'day'
        ) }} as gap_days
    from purchase_days
    where in_window

),

own_gaps as (

    select
        customer_key,
        count(gap_days) as purchase_gaps,
        median(cast(gap_days as double)) as median_gap_days
    from gaps
    group by customer_key

),

last_purchases as (

    select
        customer_key,
        max(purchased_on) as last_purchased_on
    from purchase_days
    group by customer_key

),

methods as (

    select
        customers.customer_key,
        customers.as_of_date,
        customers.profile,
        last_purchases.last_purchased_on,
        {{ dbt.datediff('last_purchases.last_purchased_on', as_of_date(), 'day') }} as recency_days,
        coalesce(own_gaps.purchase_gaps, 0) as purchase_gaps,
        own_gaps.median_gap_days,
        recency_dimensions.cadence_default_gap_days,
        case
            when recency_dimensions.cadence_default_gap_days is null then 'days'
            when coalesce(own_gaps.purchase_gaps, 0) >= recency_dimensions.cadence_min_gaps then 'own_cadence'
            else 'default_cadence'
        end as recency_method
    from customers
    left join last_purchases on customers.customer_key = last_purchases.customer_key
    left join own_gaps on customers.customer_key = own_gaps.customer_key
    left join recency_dimensions on customers.profile = recency_dimensions.profile

),

typical_gaps as (

    select
        *,
        case recency_method
            when 'own_cadence' then median_gap_days
            when 'default_cadence' then cadence_default_gap_days
        end as typical_gap_days
    from methods

),

final as (

    select
        customer_key,
        as_of_date,
        profile,
        last_purchased_on,
        recency_days,
        purchase_gaps,
        median_gap_days,
        recency_method,
        typical_gap_days,
        round(recency_days / typical_gap_days, 4) as recency_cadence
    from typical_gaps

)

select * from final

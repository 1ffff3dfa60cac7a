{%- set window_days = var('membership_effect')['window_days'] -%}
-- Did joining the loyalty programme change what customers bought (会员权益的效果)? Per month of joining: the customers
-- who joined that month after buying in the year before (existing buyers: someone who joins at a first purchase has
-- no before), their net spend in the window_days before and after the day they joined, against customers who were
-- not members through the month's after-window and bought in the year before the month's first day, in the same
-- band of purchases in that year (1, 2, 3, 4, 5+), their windows turning on that first day. Comparable, not
-- random: people who join are keener (the bands take some of that out, not all). Difference in differences with its
-- standard error (macros/spend_effect.sql); overall and per grade held on the day.
with

customers as (

    select
        customer_key,
        member_since
    from {{ ref('dim_customer') }}

),

{{ spend_effect_inputs() }},

-- months of joining whose every member's after-window has passed before the as-of date
cohorts as (

    select
        cast(date_trunc('month', member_since) as date) as cohort_month,
        count(*) as joined
    from customers
    where member_since is not null
    group by cast(date_trunc('month', member_since) as date)
    having {{ dbt.dateadd('day', window_days, "max(member_since)") }} <= {{ as_of_date() }}

),

purchases_in_the_year_before as (

    -- joiners, counted before their own day
    select
        cohorts.cohort_month,
        customers.customer_key,
        true as is_targeted,
        customers.member_since as event_date,
        count(*) as purchases_365d
    from cohorts
    inner join customers
        on cast(date_trunc('month', customers.member_since) as date) = cohorts.cohort_month
    inner join purchases
        on customers.customer_key = purchases.customer_key
            and purchases.order_date >= {{ dbt.dateadd('day', -365, 'customers.member_since') }}
            and customers.member_since > purchases.order_date
    group by cohorts.cohort_month, customers.customer_key, customers.member_since

    union all

    -- not members until after the month's after-window: counted before the month's first day
    select
        cohorts.cohort_month,
        customers.customer_key,
        false,
        cohorts.cohort_month,
        count(*)
    from cohorts
    inner join customers
        on customers.member_since is null
            or customers.member_since >= {{ dbt.dateadd('day', window_days + 31, 'cohorts.cohort_month') }}
    inner join purchases
        on customers.customer_key = purchases.customer_key
            and purchases.order_date >= {{ dbt.dateadd('day', -365, 'cohorts.cohort_month') }}
            and cohorts.cohort_month > purchases.order_date
    group by cohorts.cohort_month, customers.customer_key

),

members as (

    select
        cohort_month as group_id,
        event_date,
        customer_key,
        is_targeted,
        false as responded,
        least(purchases_365d, 5) as stratum
    from purchases_in_the_year_before

),
{{ spend_effect_ctes(window_days) }},

-- every month of joining has its overall row, with nobody measured where none of its joiners bought before
breakdown_rows as (

    select
        cohort_month,
        'all' as breakdown,
        'all' as breakdown_value
    from cohorts
    union
    select
        group_id,
        breakdown,
        breakdown_value
    from effects

),

final as (

    select
        breakdown_rows.cohort_month,
        breakdown_rows.breakdown,
        breakdown_rows.breakdown_value,
        {{ window_days }} as window_days,
        cohorts.joined,
        {{ spend_effect_columns('effects', var('membership_effect')['min_customers']) }}
    from breakdown_rows
    inner join cohorts on breakdown_rows.cohort_month = cohorts.cohort_month
    left join effects
        on breakdown_rows.cohort_month = effects.group_id
            and breakdown_rows.breakdown = effects.breakdown
            and breakdown_rows.breakdown_value = effects.breakdown_value

)

select
    *,
    {{ spend_effect_interval() }}
from final

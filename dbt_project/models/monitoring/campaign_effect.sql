{%- set window_days = var('campaign_effect')['window_days'] -%}
-- Did a campaign change what its customers bought? Per campaign whose after-window has passed, and per grade its
-- customers held on its day: the targeted customers' net spend in the window_days before and after the campaign's
-- first contact, against a comparison group's (difference in differences). The comparison group is the campaign's
-- holdout where the export marks one (randomised: the difference is the campaign's effect); else the customers it
-- did not target who bought in the year before, in the same band of purchases in that year (1, 2, 3, 4, 5+),
-- weighted to the targeted customers' bands: comparable, not random (`comparison` says which was used). A band
-- needs two comparison customers (a spread) to count; the targeted customers of the other bands are not measured.
-- uplift_ci_low/high: the 95% interval of the stratified difference (normal approximation). Value is net spend
-- (revenue), not margin; cost is the campaign's budget (stg_raw__campaigns), spread evenly over its contacts.
with

responses as (

    select * from {{ ref('int_campaign_responses') }}
    where customer_key is not null

),

purchases as (

    select customer_key, order_date, net_amount from {{ ref('int_orders') }}
    where is_purchase and customer_key is not null

),

grades as (

    select as_of_date, customer_key, grade from {{ ref('grade_history') }}

),

campaigns as (

    select
        campaign_id,
        min(campaign_name) as campaign_name,
        min(channel) as channel,
        max(budget) as budget
    from {{ ref('stg_raw__campaigns') }}
    group by campaign_id

),

campaign_days as (

    select
        campaign_id,
        cast(min(targeted_at) as date) as campaign_date,
        bool_or(is_holdout) as has_holdout
    from responses
    group by campaign_id
    having {{ dbt.dateadd('day', window_days, 'cast(min(targeted_at) as date)') }} <= {{ as_of_date() }}

),

-- one row per campaign and customer contacted or held out (several rows of one customer: any response counts)
contacts as (

    select
        campaign_id,
        customer_key,
        bool_or(is_holdout) as is_holdout,
        bool_or(is_response and not is_holdout) as responded
    from responses
    group by campaign_id, customer_key

),

buyers_of_the_year_before as (

    select
        days.campaign_id,
        purchases.customer_key,
        count(*) as purchases_365d
    from campaign_days as days
    inner join purchases
        on purchases.order_date >= {{ dbt.dateadd('day', -365, 'days.campaign_date') }}
        and purchases.order_date < days.campaign_date
    group by days.campaign_id, purchases.customer_key

),

candidates as (

    select campaign_id, customer_key from contacts
    union
    select buyers.campaign_id, buyers.customer_key
    from buyers_of_the_year_before as buyers
    inner join campaign_days as days on buyers.campaign_id = days.campaign_id
    where not days.has_holdout

),

members as (

    select
        days.campaign_id,
        days.campaign_date,
        days.has_holdout,
        candidates.customer_key,
        coalesce(contacts.customer_key is not null and not contacts.is_holdout, false) as is_targeted,
        coalesce(contacts.responded, false) as responded,
        -- a random holdout is comparable as it is: one band
        case when days.has_holdout then 0 else least(coalesce(buyers.purchases_365d, 0), 5) end as stratum
    from candidates
    inner join campaign_days as days on candidates.campaign_id = days.campaign_id
    left join contacts
        on candidates.campaign_id = contacts.campaign_id and candidates.customer_key = contacts.customer_key
    left join buyers_of_the_year_before as buyers
        on candidates.campaign_id = buyers.campaign_id and candidates.customer_key = buyers.customer_key

),

spend as (

    select
        members.campaign_id,
        members.customer_key,
        coalesce(sum(purchases.net_amount) filter (where purchases.order_date < members.campaign_date), 0)
            as pre_spend,
        coalesce(sum(purchases.net_amount) filter (where purchases.order_date >= members.campaign_date), 0)
            as post_spend
    from members
    left join purchases
        on members.customer_key = purchases.customer_key
        and purchases.order_date >= {{ dbt.dateadd('day', -window_days, 'members.campaign_date') }}
        and purchases.order_date < {{ dbt.dateadd('day', window_days, 'members.campaign_date') }}
    group by members.campaign_id, members.customer_key

),

-- the grade each customer held on the campaign's day: the latest graded day on or before it
graded_days as (

    select
        members.campaign_id,
        members.customer_key,
        max(grades.as_of_date) as graded_on
    from members
    inner join grades
        on members.customer_key = grades.customer_key and grades.as_of_date <= members.campaign_date
    group by members.campaign_id, members.customer_key

),

grade_then as (

    select
        graded_days.campaign_id,
        graded_days.customer_key,
        grades.grade
    from graded_days
    inner join grades
        on graded_days.customer_key = grades.customer_key and graded_days.graded_on = grades.as_of_date

),

measured as (

    select
        members.*,
        spend.pre_spend,
        spend.post_spend,
        spend.post_spend - spend.pre_spend as spend_change,
        coalesce(grade_then.grade, '(not graded then)') as grade_then
    from members
    inner join spend
        on members.campaign_id = spend.campaign_id and members.customer_key = spend.customer_key
    left join grade_then
        on members.campaign_id = grade_then.campaign_id and members.customer_key = grade_then.customer_key

),

breakdowns as (

    select 'all' as breakdown, 'all' as breakdown_value, * from measured
    union all
    select 'grade' as breakdown, grade_then as breakdown_value, * from measured

),

strata as (

    select
        campaign_id,
        breakdown,
        breakdown_value,
        stratum,
        count(*) filter (where is_targeted) as targeted,
        count(*) filter (where is_targeted and responded) as responders,
        count(*) filter (where not is_targeted) as comparison,
        var_samp(spend_change) filter (where is_targeted) as targeted_change_variance,
        var_samp(spend_change) filter (where not is_targeted) as comparison_change_variance,
        sum(pre_spend) filter (where is_targeted) as targeted_pre,
        sum(post_spend) filter (where is_targeted) as targeted_post,
        sum(post_spend) filter (where is_targeted and responded) as responder_post,
        sum(post_spend) filter (where is_targeted and not responded) as non_responder_post,
        avg(pre_spend) filter (where not is_targeted) as comparison_pre_mean,
        avg(post_spend) filter (where not is_targeted) as comparison_post_mean
    from breakdowns
    group by campaign_id, breakdown, breakdown_value, stratum

),

effects as (

    select
        campaign_id,
        breakdown,
        breakdown_value,
        sum(targeted) as targeted_customers,
        sum(responders) as responders,
        sum(comparison) as comparison_customers,
        -- the targeted customers of bands with a comparison: the ones the effect is measured on
        sum(targeted) filter (where comparison >= 2) as matched_customers,
        sum(targeted_pre) filter (where comparison >= 2) as matched_pre,
        sum(targeted_post) filter (where comparison >= 2) as matched_post,
        sum(targeted * comparison_pre_mean) filter (where comparison >= 2) as comparison_pre_weighted,
        sum(targeted * comparison_post_mean) filter (where comparison >= 2) as comparison_post_weighted,
        -- n_s^2 * (var_targeted / n_s + var_comparison / c_s), summed; over N^2 it is the uplift's variance
        sum(
            targeted * coalesce(targeted_change_variance, 0)
            + targeted * targeted * comparison_change_variance / comparison
        ) filter (where comparison >= 2 and targeted > 0) as uplift_variance_numerator,
        sum(responder_post) as responder_post,
        sum(non_responder_post) as non_responder_post
    from strata
    group by campaign_id, breakdown, breakdown_value

),

final as (

    select
        effects.campaign_id,
        effects.breakdown,
        effects.breakdown_value,
        campaigns.campaign_name,
        campaigns.channel,
        days.campaign_date,
        {{ window_days }} as window_days,
        case when days.has_holdout then 'holdout' else 'matched_non_targeted' end as comparison,
        cast(effects.targeted_customers as bigint) as targeted_customers,
        cast(effects.responders as bigint) as responders,
        effects.responders / nullif(effects.targeted_customers, 0) as response_rate,
        cast(effects.comparison_customers as bigint) as comparison_customers,
        cast(coalesce(effects.matched_customers, 0) as bigint) as matched_customers,
        effects.matched_pre / nullif(effects.matched_customers, 0) as targeted_pre_spend,
        effects.matched_post / nullif(effects.matched_customers, 0) as targeted_post_spend,
        effects.comparison_pre_weighted / nullif(effects.matched_customers, 0) as comparison_pre_spend,
        effects.comparison_post_weighted / nullif(effects.matched_customers, 0) as comparison_post_spend,
        (effects.matched_post - effects.matched_pre - effects.comparison_post_weighted
            + effects.comparison_pre_weighted) / nullif(effects.matched_customers, 0) as uplift_per_customer,
        sqrt(effects.uplift_variance_numerator) / nullif(effects.matched_customers, 0) as uplift_standard_error,
        effects.matched_post - effects.matched_pre - effects.comparison_post_weighted
            + effects.comparison_pre_weighted as incremental_revenue,
        effects.responder_post / nullif(effects.responders, 0) as responder_post_spend,
        effects.non_responder_post / nullif(effects.targeted_customers - effects.responders, 0)
            as non_responder_post_spend,
        -- a grade's share of the budget: its share of the customers contacted
        campaigns.budget * effects.targeted_customers / nullif(totals.targeted_customers, 0) as cost,
        campaigns.budget / nullif(totals.targeted_customers, 0) as cost_per_customer
    from effects
    inner join campaign_days as days on effects.campaign_id = days.campaign_id
    inner join effects as totals
        on effects.campaign_id = totals.campaign_id and totals.breakdown = 'all'
    left join campaigns on effects.campaign_id = campaigns.campaign_id

)

select
    *,
    uplift_per_customer - 1.96 * uplift_standard_error as uplift_ci_low,
    uplift_per_customer + 1.96 * uplift_standard_error as uplift_ci_high,
    -- per measured customer: what it brought beyond the comparison, over what contacting it cost
    (uplift_per_customer - cost_per_customer) / nullif(cost_per_customer, 0) as roi
from final

{%- set window_days = var('campaign_effect')['window_days'] -%}
-- Did a campaign change what its customers bought? Per campaign whose after-window has passed, and per grade its
-- customers held on its day: the targeted customers' net spend in the window_days before and after the campaign's
-- first contact, against a comparison group's (difference in differences). The comparison group is the campaign's
-- holdout where the export marks one (randomised: the difference is the campaign's effect); else the customers it
-- did not target who bought in the year before, in the same band of purchases in that year (1, 2, 3, 4, 5+),
-- weighted to the targeted customers' bands: comparable, not random (`comparison` says which was used). A band
-- needs two comparison customers (a spread) to count; the targeted customers of the other bands are not measured.
-- uplift_ci_low/high: the 95% interval of the stratified difference (normal approximation). The uplift is of net
-- spend; the ROI is on margin where every measured customer's goods have a cost, else on net spend (roi_basis);
-- cost is the campaign's budget (stg_raw__campaigns), spread evenly over its contacts.
with

responses as (

    select * from {{ ref('int_campaign_responses') }}
    where customer_key is not null

),

{{ spend_effect_inputs() }},

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
            and days.campaign_date > purchases.order_date
    group by days.campaign_id, purchases.customer_key

),

candidates as (

    select
        campaign_id,
        customer_key
    from contacts
    union
    select
        buyers.campaign_id,
        buyers.customer_key
    from buyers_of_the_year_before as buyers
    inner join campaign_days as days on buyers.campaign_id = days.campaign_id
    where not days.has_holdout

),

members as (

    select
        days.campaign_id as group_id,
        days.campaign_date as event_date,
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
{{ spend_effect_ctes(window_days) }},

final as (

    select
        effects.group_id as campaign_id,
        effects.breakdown,
        effects.breakdown_value,
        campaigns.campaign_name,
        campaigns.channel,
        days.campaign_date,
        {{ window_days }} as window_days,
        case when days.has_holdout then 'holdout' else 'matched_non_targeted' end as comparison,
        cast(effects.responders as bigint) as responders,
        effects.responders / nullif(effects.targeted_customers, 0) as response_rate,
        {{ spend_effect_columns('effects', var('campaign_effect')['min_customers']) }},
        effects.responder_post / nullif(effects.responders, 0) as responder_post_spend,
        effects.non_responder_post / nullif(effects.targeted_customers - effects.responders, 0)
            as non_responder_post_spend,
        -- a grade's share of the budget: its share of the customers contacted
        campaigns.budget * effects.targeted_customers / nullif(totals.targeted_customers, 0) as cost,
        campaigns.budget / nullif(totals.targeted_customers, 0) as cost_per_customer
    from effects
    inner join campaign_days as days on effects.group_id = days.campaign_id
    inner join effects as totals
        on effects.group_id = totals.group_id and totals.breakdown = 'all'
    left join campaigns on effects.group_id = campaigns.campaign_id

)

{#- what a contact brought: margin where every measured customer's goods have a cost (a campaign pays for itself
    from margin, not revenue), else net spend; roi_basis says which -#}
{%- set value = 'coalesce(margin_uplift_per_customer, uplift_per_customer)' -%}
{%- set spread -%}
    case when margin_uplift_per_customer is not null then margin_uplift_standard_error else uplift_standard_error end
{%- endset %}
select
    *,
    {{ spend_effect_interval() }},
    case
        when margin_uplift_per_customer is not null then 'margin'
        when uplift_per_customer is not null then 'revenue'
    end as roi_basis,
    -- per measured customer: what it brought beyond the comparison, over what contacting it cost; with the
    -- interval of the uplift carried through (the cost is known), so a ROI is never read without its uncertainty
    ({{ value }} - cost_per_customer) / nullif(cost_per_customer, 0) as roi,
    ({{ value }} - 1.96 * {{ spread }} - cost_per_customer) / nullif(cost_per_customer, 0) as roi_ci_low,
    ({{ value }} + 1.96 * {{ spread }} - cost_per_customer) / nullif(cost_per_customer, 0) as roi_ci_high
from final

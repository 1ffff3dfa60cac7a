-- Marketing and sales-pipeline response per customer before the as-of date: campaign response rate, lead
-- conversion and opportunity win rate. A lead counts as converted when one of its opportunities was won
-- before the as-of date, or the CRM marks it converted (its current status: the CRM keeps no history).
with

campaigns as (

    select
        customer_key,
        count(distinct campaign_id) as campaigns_targeted,
        count(distinct campaign_id) filter (
            where is_response and responded_at < {{ as_of_timestamp() }}
        ) as campaigns_responded
    from {{ ref('int_campaign_responses') }}
    where customer_key is not null
        and not is_holdout
        and targeted_at < {{ as_of_timestamp() }}
    group by customer_key

),

opportunities as (

    select
        *,
        is_closed and closed_at < {{ as_of_timestamp() }} as closed_by_as_of
    from {{ ref('int_opportunities') }}
    where created_at < {{ as_of_timestamp() }}

),

won_leads as (

    select distinct
        source_name,
        lead_id
    from opportunities
    where is_won and closed_by_as_of

),

leads as (

    select
        leads.customer_key,
        count(*) as lead_count,
        count(*) filter (where leads.status = 'converted' or won_leads.lead_id is not null) as converted_lead_count
    from {{ ref('int_leads') }} as leads
    left join won_leads
        on leads.source_name = won_leads.source_name
            and leads.lead_id = won_leads.lead_id
    where leads.customer_key is not null
        and leads.created_at < {{ as_of_timestamp() }}
    group by leads.customer_key

),

deals as (

    select
        customer_key,
        count(*) as opportunity_count,
        count(*) filter (where closed_by_as_of) as closed_opportunity_count,
        count(*) filter (where closed_by_as_of and is_won) as won_opportunity_count,
        coalesce(sum(amount) filter (where closed_by_as_of and is_won), 0) as won_opportunity_amount
    from opportunities
    where customer_key is not null
    group by customer_key

),

customers as (

    select customer_key from campaigns
    union
    select customer_key from leads
    union
    select customer_key from deals

),

final as (

    select
        customers.customer_key,
        coalesce(campaigns.campaigns_targeted, 0) as campaigns_targeted,
        coalesce(campaigns.campaigns_responded, 0) as campaigns_responded,
        coalesce(leads.lead_count, 0) as lead_count,
        coalesce(leads.converted_lead_count, 0) as converted_lead_count,
        coalesce(deals.opportunity_count, 0) as opportunity_count,
        coalesce(deals.closed_opportunity_count, 0) as closed_opportunity_count,
        coalesce(deals.won_opportunity_count, 0) as won_opportunity_count,
        coalesce(deals.won_opportunity_amount, 0) as won_opportunity_amount
    from customers
    left join campaigns on customers.customer_key = campaigns.customer_key
    left join leads on customers.customer_key = leads.customer_key
    left join deals on customers.customer_key = deals.customer_key

)

select * from final

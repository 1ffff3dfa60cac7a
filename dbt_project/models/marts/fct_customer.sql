-- The customer fact table: one row per customer known before the as-of date, with the indicator families of
-- the grading: behaviour, attributes, interaction, satisfaction, service and membership. Every family is
-- computed as of the date from data stamped before it (int_customer__*), so past dates can be recomputed.
with

customers as (

    select * from {{ ref('dim_customer') }}
    -- a customer whose records carry no time at all cannot be placed in time; kept rather than lost
    where first_seen_at < {{ as_of_timestamp() }} or first_seen_at is null

),

purchases as (

    select * from {{ ref('int_customer__purchases') }}

),

engagement as (

    select * from {{ ref('int_customer__engagement') }}

),

interactions as (

    select * from {{ ref('int_customer__interactions') }}

),

satisfaction as (

    select * from {{ ref('int_customer__satisfaction') }}

),

service as (

    select * from {{ ref('int_customer__service') }}

),

joined as (

    select
        customers.*,
        {{ as_of_date() }} as as_of_date,
        floor({{ dbt.datediff('customers.birth_date', as_of_date(), 'day') }} / 365.25) as age,
        purchases.first_purchase_at,
        purchases.last_purchase_at,
        purchases.recency_days,
        purchases.lifetime_frequency,
        purchases.order_count,
        purchases.lifetime_monetary_gross,
        purchases.refund_amount,
        purchases.lifetime_monetary_net,
        purchases.margin,
        purchases.margin_rate,
        purchases.margin_cost_coverage,
        purchases.purchase_channels,
        purchases.purchase_channel_count,
        engagement.campaigns_targeted,
        engagement.campaigns_responded,
        engagement.lead_count,
        engagement.converted_lead_count,
        engagement.opportunity_count,
        engagement.closed_opportunity_count,
        engagement.won_opportunity_count,
        engagement.won_opportunity_amount,
        {%- for days in [30, 90, 365] %}
            interactions.interactions_{{ days }}d,
            {%- for channel in var('interaction_channels') %}
                interactions.{{ channel }}_{{ days }}d,
            {%- endfor %}
        {%- endfor %}
        interactions.preferred_channel,
        interactions.last_contact_at,
        satisfaction.latest_nps_score,
        satisfaction.latest_nps_at,
        satisfaction.nps_category,
        satisfaction.nps_trend,
        satisfaction.latest_csat_score,
        satisfaction.latest_csat_at,
        satisfaction.csat_trend,
        service.tickets_90d,
        service.tickets_365d,
        service.complaints_90d,
        service.complaints_365d,
        service.open_tickets,
        service.avg_resolution_hours,
        service.last_ticket_at
    from customers
    left join purchases on customers.customer_key = purchases.customer_key
    left join engagement on customers.customer_key = engagement.customer_key
    left join interactions on customers.customer_key = interactions.customer_key
    left join satisfaction on customers.customer_key = satisfaction.customer_key
    left join service on customers.customer_key = service.customer_key

),

final as (

    select
        customer_key,
        as_of_date,
        case
            when lifetime_frequency > 0 then 'customer'
            when is_member or lead_count > 0 or opportunity_count > 0 then 'prospect'
            else 'contact'
        end as lifecycle_stage,
        -- behaviour
        first_purchase_at,
        last_purchase_at,
        recency_days,
        -- lifetime: every purchase before the as-of date (customer_grades counts the profile's window)
        coalesce(lifetime_frequency, 0) as lifetime_frequency,
        coalesce(order_count, 0) as order_count,
        coalesce(lifetime_monetary_net, 0) as lifetime_monetary,
        coalesce(lifetime_monetary_gross, 0) as lifetime_monetary_gross,
        coalesce(refund_amount, 0) as refund_amount,
        margin,
        margin_rate,
        margin_cost_coverage,
        -- in whole fen first: half a fen then rounds up on every engine (in binary floating point 5174.775
        -- is 5174.7749..., which DuckDB rounded down and Spark's decimals up)
        case
            when lifetime_frequency > 0 then round(lifetime_monetary_net * 100 / lifetime_frequency) / 100
        end as average_order_value,
        purchase_channels,
        coalesce(purchase_channel_count, 0) as purchase_channel_count,
        coalesce(campaigns_targeted, 0) as campaigns_targeted,
        coalesce(campaigns_responded, 0) as campaigns_responded,
        case when campaigns_targeted > 0 then campaigns_responded / campaigns_targeted end
            as campaign_response_rate,
        coalesce(lead_count, 0) as lead_count,
        coalesce(converted_lead_count, 0) as converted_lead_count,
        case when lead_count > 0 then converted_lead_count / lead_count end as lead_conversion_rate,
        coalesce(opportunity_count, 0) as opportunity_count,
        coalesce(won_opportunity_count, 0) as won_opportunity_count,
        case when closed_opportunity_count > 0 then won_opportunity_count / closed_opportunity_count end
            as opportunity_win_rate,
        coalesce(won_opportunity_amount, 0) as won_opportunity_amount,
        -- attributes
        gender,
        cast(age as integer) as age,
        case
            when age is null or age < 0 then 'unknown'
            when age < 18 then '<18'
            when age < 25 then '18-24'
            when age < 35 then '25-34'
            when age < 45 then '35-44'
            when age < 55 then '45-54'
            when age < 65 then '55-64'
            else '65+'
        end as age_band,
        province,
        city,
        region,
        occupation,
        industry,
        company_name,
        company_size,
        -- interaction
        {%- for days in [30, 90, 365] %}
            coalesce(interactions_{{ days }}d, 0) as interactions_{{ days }}d,
        {%- endfor %}
        {%- for channel in var('interaction_channels') %}
            {%- for days in [30, 90, 365] %}
                coalesce({{ channel }}_{{ days }}d, 0) as {{ channel }}_{{ days }}d,
            {%- endfor %}
        {%- endfor %}
        preferred_channel,
        last_contact_at,
        {{ dbt.datediff('cast(last_contact_at as date)', 'as_of_date', 'day') }} as days_since_last_contact,
        -- satisfaction
        latest_nps_score,
        latest_nps_at,
        nps_category,
        nps_trend,
        latest_csat_score,
        latest_csat_at,
        csat_trend,
        -- service
        coalesce(tickets_90d, 0) as tickets_90d,
        coalesce(tickets_365d, 0) as tickets_365d,
        coalesce(complaints_90d, 0) as complaints_90d,
        coalesce(complaints_365d, 0) as complaints_365d,
        coalesce(open_tickets, 0) as open_tickets,
        round(avg_resolution_hours, 1) as avg_resolution_hours,
        last_ticket_at,
        -- membership
        is_member,
        member_id,
        member_level,
        points,
        -- identity
        sources,
        record_count,
        has_probabilistic_link
    from joined

)

select * from final

-- Interaction counts per customer before the as-of date: in total and per channel over 30, 90 and 365 days,
-- the preferred channel (most interactions in 365 days, then the latest) and the last contact.
{%- set windows = [30, 90, 365] %}
with

interactions as (

    select
        *,
        {{ dbt.datediff('occurred_date', as_of_date(), 'day') }} as days_before
    from {{ ref('int_interactions') }}
    where customer_key is not null
        and occurred_at < {{ as_of_timestamp() }}

),

counts as (

    select
        customer_key,
        {%- for days in windows %}
            count(*) filter (where days_before <= {{ days }}) as interactions_{{ days }}d,
        {%- endfor %}
        {%- for channel in var('interaction_channels') %}
            {%- for days in windows %}
                count(*) filter (where channel = '{{ channel }}' and days_before <= {{ days }}) as {{ channel }}_{{ days }}d,
            {%- endfor %}
        {%- endfor %}
        max(occurred_at) as last_contact_at
    from interactions
    group by customer_key

),

channel_ranking as (

    select
        customer_key,
        channel,
        row_number() over (
            partition by customer_key order by count(*) desc, max(occurred_at) desc, channel
        ) as channel_rank
    from interactions
    where days_before <= 365
    group by customer_key, channel

),

final as (

    select
        counts.*,
        channel_ranking.channel as preferred_channel
    from counts
    left join channel_ranking
        on counts.customer_key = channel_ranking.customer_key
            and channel_ranking.channel_rank = 1

)

select * from final

-- Which grading profile applies to each customer with a purchase before the as-of date: the first profile of
-- grading.yml whose match it meets (an attribute equal to one of the listed values), else 'default'.
with

customers as (

    select * from {{ grading_input('customers') }}
    where lifetime_frequency > 0

),

profiles as (

    select * from {{ ref('stg_grading_spec__profiles') }}

),

matches as (

    select * from {{ ref('stg_grading_spec__profile_matches') }}

),

attributes as (

    {%- for attribute in var('profile_attributes') %}
        select
            customer_key,
            '{{ attribute }}' as attribute,
            {{ attribute }} as value
        from customers
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

matched as (

    select
        attributes.customer_key,
        profiles.profile,
        profiles.priority
    from attributes
    inner join matches
        on attributes.attribute = matches.attribute
            and attributes.value = matches.value
    inner join profiles on matches.profile = profiles.profile

),

first_match as (

    select
        customer_key,
        min_by(profile, priority) as profile
    from matched
    group by customer_key

),

final as (

    select
        customers.customer_key,
        {{ as_of_date() }} as as_of_date,
        coalesce(first_match.profile, 'default') as profile,
        profiles.lookback_days,
        profiles.churn_after_days
    from customers
    left join first_match on customers.customer_key = first_match.customer_key
    inner join profiles on coalesce(first_match.profile, 'default') = profiles.profile

)

select * from final

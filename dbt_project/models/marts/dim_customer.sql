-- The golden record: one row per customer, each attribute chosen by the survivorship rules of the config
-- (most trusted source first, then the most recent value). Built per customer: a run recomputes the customers
-- identity changed (macros/customer_increment.sql).
{{ config(**customer_increment_config()) }}

with

observations as (

    select * from {{ ref('int_customer_attribute_observations') }}
    where {{ changed_customers_only('customer_key') }}

),

graph as (

    select * from {{ ref('int_identity__graph') }}
    where {{ changed_customers_only('customer_key') }}

),

regions as (

    select * from {{ ref('province_regions') }}

),

golden as (

    select
        customer_key,
        {{ survivor('name') }} as name,
        {{ survivor('first_name') }} as first_name,
        {{ survivor('last_name') }} as last_name,
        {{ survivor('national_id') }} as national_id,
        {{ survivor('phone') }} as phone,
        {{ survivor('email') }} as email,
        {{ survivor('gender') }} as gender,
        {{ survivor('birth_date') }} as birth_date,
        {{ survivor('province') }} as province,
        {{ survivor('city') }} as city,
        {{ survivor('address') }} as address,
        {{ survivor('postcode') }} as postcode,
        {{ survivor('occupation') }} as occupation,
        {{ survivor('company_name') }} as company_name,
        {{ survivor('company_registration_id') }} as company_registration_id,
        {{ survivor('industry') }} as industry,
        {{ survivor('company_size') }} as company_size,
        {{ survivor('member_id') }} as member_id,
        {{ survivor('member_level') }} as member_level,
        {{ survivor('points') }} as points,
        {{ survivor('wechat_unionid') }} as wechat_unionid
    from observations
    group by customer_key

),

footprint as (

    select
        customer_key,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        count(*) as record_count,
        count(distinct identifier_group) as identifier_group_count,
        {{ sorted_distinct_list('source_name') }} as sources,
        bool_or(entity = 'customers') as is_member,
        -- a registry record is stamped with its registration
        cast(min(observed_at) filter (where entity = 'customers') as date) as member_since,
        bool_or(link_rule in ('match', 'masked_phone')) as has_probabilistic_link
    from graph
    group by customer_key

),

final as (

    select
        footprint.customer_key,
        golden.name,
        golden.first_name,
        golden.last_name,
        golden.national_id,
        golden.phone,
        golden.email,
        golden.gender,
        golden.birth_date,
        golden.province,
        regions.region_cn as region,
        golden.city,
        golden.address,
        golden.postcode,
        golden.occupation,
        golden.company_name,
        golden.company_registration_id,
        golden.industry,
        golden.company_size,
        golden.member_id,
        golden.member_level,
        golden.points,
        golden.wechat_unionid,
        footprint.is_member,
        footprint.member_since,
        footprint.sources,
        footprint.record_count,
        footprint.identifier_group_count,
        footprint.has_probabilistic_link,
        footprint.first_seen_at,
        footprint.last_seen_at
    from footprint
    left join golden on footprint.customer_key = golden.customer_key
    -- 广东省 / 广东 / 广西壮族自治区 all find their short name
    left join regions
        on regexp_replace(golden.province, '(省|市|壮族自治区|回族自治区|维吾尔自治区|特别行政区|自治区)$', '')
            = regions.province

)

select * from final

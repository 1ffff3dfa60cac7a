-- Every value a source states about a customer's attributes, with the source's trust rank and the time it
-- was stated: the candidates the golden record chooses from. Built per customer (macros/customer_increment.sql).
{{ config(**customer_increment_config()) }}

with

graph as (

    select * from {{ ref('int_identity__graph') }}
    where {{ changed_customers_only('customer_key') }}

),

trust as (

    select * from {{ ref('stg_identity__source_trust') }}

),

members as (

    select
        source_name,
        source_file,
        source_row_number,
        registered_at as observed_at,
        name,
        first_name,
        last_name,
        national_id,
        phone,
        email,
        gender,
        birth_date,
        province,
        city,
        address,
        postcode,
        occupation,
        company_name,
        company_registration_id,
        industry,
        company_size,
        member_level,
        points,
        wechat_unionid,
        member_id
    from {{ ref('stg_raw__customers') }}

),

order_rows as (

    select
        source_name,
        source_file,
        source_row_number,
        ordered_at as observed_at,
        buyer_name as name,
        null as first_name,
        null as last_name,
        null as national_id,
        -- a masked number says too little to be a customer's phone
        case when not contains(phone, '*') then phone end as phone,
        email,
        null as gender,
        null::date as birth_date,
        province,
        city,
        address,
        postcode,
        null as occupation,
        company_name,
        null as company_registration_id,
        null as industry,
        null as company_size,
        null as member_level,
        null::bigint as points,
        null as wechat_unionid,
        member_id
    from {{ ref('stg_raw__orders') }}

),

leads as (

    select
        source_name,
        source_file,
        source_row_number,
        created_at as observed_at,
        contact_name as name,
        null as first_name,
        null as last_name,
        null as national_id,
        phone,
        email,
        null as gender,
        null::date as birth_date,
        null as province,
        null as city,
        null as address,
        null as postcode,
        null as occupation,
        company_name,
        company_registration_id,
        null as industry,
        null as company_size,
        null as member_level,
        null::bigint as points,
        null as wechat_unionid,
        member_id
    from {{ ref('stg_raw__leads') }}

),

observations as (

    select * from members
    union all
    select * from order_rows
    union all
    select * from leads

),

final as (

    select
        graph.customer_key,
        observations.*,
        coalesce(trust.trust_rank, 1000) as trust_rank
    from observations
    inner join graph
        on observations.source_name = graph.source_name
            and observations.source_file = graph.source_file
            and observations.source_row_number = graph.source_row_number
    left join trust on observations.source_name = trust.source_name

)

select * from final

-- Thin identity for the registry: registrations sharing a mobile number are one customer, keyed by the
-- earliest registration. Identity resolution proper (fuzzy matching, every identifier) replaces this.
with

members as (

    select * from {{ ref('stg_raw__customers') }}
    where parse_errors is null and member_id is not null

),

normalized as (

    select
        *,
        {{ normalize_cn_mobile('phone') }} as mobile
    from members

),

keyed as (

    select
        *,
        coalesce(
            first_value(member_id) over (
                partition by mobile order by registered_at, member_id
            ),
            member_id
        ) as primary_member_id
    from normalized

),

final as (

    select
        md5('member:' || case when mobile is null then member_id else primary_member_id end) as customer_key,
        member_id,
        mobile,
        name,
        email,
        gender,
        birth_date,
        province,
        city,
        occupation,
        company_name,
        industry,
        company_size,
        member_level,
        points,
        registered_at,
        source_name,
        source_file,
        source_row_number
    from keyed

)

select * from final

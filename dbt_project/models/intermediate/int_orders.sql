-- Orders from every channel at order grain: lines summed, refunds netted, a (thin) customer key attached.
-- Rows whose values did not parse or whose amount is negative are held back here; validation (issue 3)
-- turns them into quarantine entries with the reason.
with

order_rows as (

    select * from {{ ref('stg_raw__orders') }}
    where parse_errors is null and coalesce(amount, 0) >= 0

),

members as (

    select * from {{ ref('int_members_keyed') }}

),

member_by_mobile as (

    select mobile, min(customer_key) as customer_key
    from members
    where mobile is not null
    group by mobile

),

rows_with_identifiers as (

    select
        order_rows.*,
        {{ normalize_cn_mobile('order_rows.phone') }} as mobile
    from order_rows

),

keyed as (

    select
        rows_with_identifiers.*,
        coalesce(
            members.customer_key,
            member_by_mobile.customer_key,
            md5('phone:' || rows_with_identifiers.mobile),
            md5('buyer:' || rows_with_identifiers.source_name || ':' || rows_with_identifiers.buyer_id),
            md5('company:' || rows_with_identifiers.company_name)
        ) as customer_key
    from rows_with_identifiers
    left join members on rows_with_identifiers.member_id = members.member_id
    left join member_by_mobile on rows_with_identifiers.mobile = member_by_mobile.mobile

),

orders as (

    select
        source_name,
        order_id,
        min(customer_key) as customer_key,
        min(ordered_at) as ordered_at,
        count(*) as line_count,
        sum(amount) as gross_amount,
        sum(coalesce(refund_amount, 0)) as refund_amount,
        case
            when bool_and(status = 'cancelled') then 'cancelled'
            when bool_and(status = 'refunded') then 'refunded'
            when bool_or(status in ('refunded', 'partially_refunded')) then 'partially_refunded'
            else 'completed'
        end as order_status,
        min(store_id) as store_id,
        min(source_file) as source_file
    from keyed
    group by source_name, order_id

),

final as (

    select
        source_name,
        order_id,
        customer_key,
        ordered_at,
        cast(ordered_at as date) as order_date,
        line_count,
        order_status,
        gross_amount,
        refund_amount,
        case
            when order_status = 'cancelled' then 0
            else greatest(gross_amount - refund_amount, 0)
        end as net_amount,
        order_status in ('completed', 'partially_refunded') as is_purchase,
        store_id,
        source_file
    from orders

)

select * from final

-- The golden record for BI: personal columns masked or hashed (macro personal); birth date, national id and the split
-- names left out (fct_customer has the age band). phone_hash and email_hash join the customer to other tables hashed
-- with the same salt.
with

customers as (

    select * from {{ ref('dim_customer') }}

)

select
    customer_key,
    {{ personal('customers', 'name', 'name') }} as name,
    {{ personal('customers', 'phone', 'phone') }} as phone,
    {{ personal('customers', 'email', 'email') }} as email,
    {{ pii_hash('phone', 'phone') }} as phone_hash,
    {{ pii_hash('email', 'email') }} as email_hash,
    gender,
    province,
    region,
    city,
    {{ personal('customers', 'address', 'address') }} as address,
    postcode,
    occupation,
    company_name,
    company_registration_id,
    industry,
    company_size,
    {{ personal('customers', 'member_id', 'hash') }} as member_id,
    member_level,
    points,
    {{ personal('customers', 'wechat_unionid', 'hash') }} as wechat_unionid,
    is_member,
    member_since,
    sources,
    record_count,
    identifier_group_count,
    has_probabilistic_link,
    first_seen_at,
    last_seen_at
from customers

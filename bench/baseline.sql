-- The baseline of the benchmark: the one DuckDB SQL file a data team would write instead of crmgrade.
-- It reads the same order exports and member registry, applies the same cleaning (the contracts' column
-- mappings, the cleaning of pipeline/quality/cleaning.py, the row rules of expectations/orders.json and
-- customers.json: a failing row is dropped) and computes the RFM grades of grading.yml as committed
-- (thresholds, the b2b_low_frequency profile, grades A-D, the 8 segments split on the profile's average).
-- Customers are joined deterministically: a full phone number, else the member card's registry phone, else the
-- marketplace account. No orchestration, no quarantine, no history, no identity matching: what it leaves out is
-- what the benchmark's full/baseline ratio prices.
--
-- Run by bench/baseline.py with variables `root` (the source folder), `prepared` (the GBK exports transcoded
-- to UTF-8 and the dealer workbooks as CSV: DuckDB's encodings and excel extensions cannot be installed
-- offline) and `as_of` (a date; facts from data before it). Writes baseline_orders, baseline_members and
-- baseline_grades.

create or replace macro clean_text(s) as
    case when trim(s) in ('', 'NULL', 'null', 'None', 'N/A', 'n/a', '-', '--', '\N') then null else trim(s) end;

-- pipeline/quality/cleaning.py clean_phone: mobiles +86138..., masked mobiles +86138****1234, landlines
-- +86 + area code without its 0; anything else is left as it came (and fails valid_phone).
create or replace macro phone_local(p) as
    regexp_replace(
        regexp_replace(
            regexp_replace(translate(p, '０１２３４５６７８９＋－（）　', '0123456789+-() '), '[\s\-()（）.]', '', 'g'),
            '^(?:\+|00)?86(1\d{2}[\d*xX]{4}\d{4})$', '\1'
        ),
        '^(?:\+|00)86(10\d{8}|[2-9]\d{8,10})$', '0\1'
    );

create or replace macro clean_phone(p) as
    case
        when regexp_full_match(phone_local(p), '1[3-9]\d{9}') then '+86' || phone_local(p)
        when regexp_full_match(regexp_replace(phone_local(p), '[xX]', '*', 'g'), '1[3-9]\d\*{4}\d{4}')
            then '+86' || regexp_replace(phone_local(p), '[xX]', '*', 'g')
        when regexp_full_match(phone_local(p), '0[1-9]\d{8,10}') then '+86' || substr(phone_local(p), 2)
        else p
    end;

create or replace macro valid_phone(p) as
    p is null or regexp_full_match(p, '\+86(1[3-9]\d{9}|1[3-9]\d\*{4}\d{4}|10\d{8}|[2-9]\d{8,10})');

create or replace macro full_phone(p) as case when regexp_full_match(p, '\+[0-9]{6,15}') then p end;

create or replace macro to_decimal(s) as
    cast(round(try_cast(regexp_replace(s, '[,¥￥\s]|CNY|RMB|元', '', 'g') as double), 2) as decimal(18, 2));

create or replace macro to_integer(s) as cast(round(try_cast(replace(s, ',', '') as double)) as bigint);

-- A value that does not parse as its type drops the row (the pipeline quarantines it).
create or replace macro unparsed(text, typed) as text is not null and typed is null;

create or replace table baseline_order_lines as

with

-- exact duplicate rows (a re-export glitch) count once per source
tmall_raw as (
    select distinct * from read_csv(getvariable('prepared') || '/marketplaces/tmall/*.csv', all_varchar = true)
),

tmall as (
    select
        'tmall' as source,
        clean_text("订单编号") as order_id,
        null as member_id,
        clean_text("买家会员名") as buyer_id,
        clean_phone(clean_text("收货人手机")) as phone,
        clean_text("订单创建时间") as ordered_at_text,
        try_strptime(clean_text("订单创建时间"), ['%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M:%S']) as ordered_at,
        clean_text("宝贝数量") as quantity_text,
        to_integer(clean_text("宝贝数量")) as quantity,
        clean_text("实付金额") as amount_text,
        to_decimal(clean_text("实付金额")) as amount,
        clean_text("退款金额") as refund_text,
        to_decimal(clean_text("退款金额")) as refund_amount,
        case clean_text("订单状态")
            when '交易成功' then 'completed' when '交易关闭' then 'cancelled'
            when '退款成功' then 'refunded' when '部分退款' then 'partially_refunded' else 'unknown'
        end as status
    from tmall_raw
),

jd_raw as (
    select distinct * from read_csv(getvariable('root') || '/marketplaces/jd/*.csv', all_varchar = true)
),

jd as (
    select
        'jd' as source,
        clean_text("订单号") as order_id,
        null as member_id,
        clean_text("下单帐号") as buyer_id,
        clean_phone(clean_text("联系电话")) as phone,
        clean_text("下单时间") as ordered_at_text,
        try_strptime(clean_text("下单时间"), ['%Y/%m/%d %H:%M:%S', '%Y-%m-%d %H:%M:%S']) as ordered_at,
        clean_text("购买数量") as quantity_text,
        to_integer(clean_text("购买数量")) as quantity,
        clean_text("应付金额") as amount_text,
        to_decimal(clean_text("应付金额")) as amount,
        null as refund_text,
        cast(null as decimal(18, 2)) as refund_amount,
        case clean_text("订单状态")
            when '完成' then 'completed' when '已取消' then 'cancelled' when '退款完成' then 'refunded' else 'unknown'
        end as status
    from jd_raw
),

pdd_raw as (
    select distinct * from read_csv(getvariable('root') || '/marketplaces/pdd/*.csv', all_varchar = true, delim = ';')
),

pdd_typed as (
    select
        *,
        to_integer(clean_text("订单金额(分)")) as amount_fen,
        to_integer(clean_text("退款金额(分)")) as refund_fen,
        to_integer(clean_text("订单状态码")) as status_code
    from pdd_raw
),

pdd as (
    select
        'pdd' as source,
        clean_text("订单号") as order_id,
        null as member_id,
        clean_text("用户ID") as buyer_id,
        clean_phone(clean_text("手机号")) as phone,
        clean_text("成交时间") as ordered_at_text,
        try_strptime(clean_text("成交时间"), ['%Y%m%d%H%M%S']) as ordered_at,
        clean_text("数量") as quantity_text,
        to_integer(clean_text("数量")) as quantity,
        clean_text("订单金额(分)") as amount_text,
        cast(amount_fen / 100.0 as decimal(18, 2)) as amount,
        clean_text("退款金额(分)") as refund_text,
        cast(refund_fen / 100.0 as decimal(18, 2)) as refund_amount,
        case
            when status_code in (1, 2, 3) then 'completed' when status_code = 4 then 'cancelled'
            when status_code = 5 then 'refunded' when status_code = 6 then 'partially_refunded' else 'unknown'
        end as status
    from pdd_typed
    where not unparsed(clean_text("订单状态码"), status_code)
),

-- a receipt without a number is named by its file and line, so each file's lines are numbered as read
pos_read as (
    select *, row_number() over () as read_order
    from read_csv(getvariable('root') || '/stores/pos_*.csv', all_varchar = true, filename = true)
),

pos_raw as (
    select distinct on (receipt_no, store_code, member_card, member_phone, sku, item_name, qty, unit_price, txn_type, sold_at)
        *,
        read_order - min(read_order) over (partition by filename) + 2 as line
    from pos_read
    order by receipt_no, store_code, member_card, member_phone, sku, item_name, qty, unit_price, txn_type, sold_at,
        filename, line
),

pos_typed as (
    select
        *,
        to_integer(clean_text(qty)) as quantity,
        to_decimal(clean_text(unit_price)) as price
    from pos_raw
    where not unparsed(clean_text(unit_price), to_decimal(clean_text(unit_price)))
),

pos as (
    select
        'pos' as source,
        coalesce(
            clean_text(receipt_no),
            'pos:' || substr(filename, length(getvariable('root')) + 2) || ':' || line
        ) as order_id,
        clean_text(member_card) as member_id,
        null as buyer_id,
        clean_phone(clean_text(member_phone)) as phone,
        clean_text(sold_at) as ordered_at_text,
        try_strptime(clean_text(sold_at), ['%d/%m/%Y %H:%M']) as ordered_at,
        clean_text(qty) as quantity_text,
        quantity,
        null as amount_text,
        cast(quantity * price as decimal(18, 2)) as amount,
        null as refund_text,
        cast(case when clean_text(txn_type) = 'R' then quantity * price else 0 end as decimal(18, 2)) as refund_amount,
        case clean_text(txn_type) when 'S' then 'completed' when 'V' then 'cancelled' when 'R' then 'refunded'
            else 'unknown' end as status
    from pos_typed
),

dealer_raw as (
    select distinct * from read_csv(getvariable('prepared') || '/dealers/*.csv', all_varchar = true)
),

dealer as (
    select
        'dealer_reports' as source,
        clean_text("Invoice No") as order_id,
        null as member_id,
        null as buyer_id,
        clean_phone(clean_text("Tel")) as phone,
        clean_text("Invoice Date") as ordered_at_text,
        try_strptime(clean_text("Invoice Date"), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d']) as ordered_at,
        clean_text("Qty") as quantity_text,
        to_integer(clean_text("Qty")) as quantity,
        clean_text("Net Amount (CNY)") as amount_text,
        to_decimal(clean_text("Net Amount (CNY)")) as amount,
        null as refund_text,
        cast(null as decimal(18, 2)) as refund_amount,
        'completed' as status
    from dealer_raw
),

all_lines as (
    select * from tmall
    union all by name
    select * from jd
    union all by name
    select * from pdd
    union all by name
    select * from pos
    union all by name
    select * from dealer
)

-- the row rules of expectations/orders.json (a rule skips an empty value, as Great Expectations does)
select source, order_id, member_id, buyer_id, phone, ordered_at, status, quantity, amount, refund_amount
from all_lines
where not unparsed(ordered_at_text, ordered_at)
    and not unparsed(quantity_text, quantity)
    and not unparsed(amount_text, amount)
    and not unparsed(refund_text, refund_amount)
    and ordered_at >= timestamp '2000-01-01' and ordered_at <= localtimestamp
    and coalesce(amount between 0 and 10000000, true)
    and coalesce(refund_amount between 0 and 10000000, true)
    and coalesce(amount >= refund_amount, true)
    and coalesce(quantity between 0 and 100000, true)
    and status in ('completed', 'cancelled', 'refunded', 'partially_refunded')
    and valid_phone(phone);

-- The member registry, with the rules of expectations/customers.json that decide whether a row is kept.
create or replace table baseline_members as
with registry as (
    select distinct * from read_csv(getvariable('root') || '/registry/*.csv', all_varchar = true)
),

typed as (
    select
        clean_text(member_no) as member_id,
        clean_text(full_name) as name,
        clean_phone(clean_text(mobile)) as phone,
        lower(regexp_replace(clean_text(email), '\s', '', 'g')) as email,
        clean_text(industry) as industry,
        clean_text(created_at) as registered_text,
        try_strptime(clean_text(created_at), ['%Y-%m-%d %H:%M:%S']) as registered_at
    from registry
)

select member_id, full_phone(phone) as phone, industry, registered_at
from typed
where member_id is not null
    and name is not null
    and not unparsed(registered_text, registered_at)
    and valid_phone(phone)
    and (email is null or regexp_full_match(email, '[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}'));

-- Customers: a full phone number, else one the marketplace account gave on another order, else the registry
-- phone of the member card, else the member card, else the marketplace account.
create or replace table baseline_orders as
with member_keys as (
    select member_id, min(coalesce(phone, 'member:' || member_id)) as customer_key
    from baseline_members
    group by member_id
),

orders as (
    select
        source,
        order_id,
        min(ordered_at) as ordered_at,
        min(full_phone(phone)) as phone,
        min(member_id) as member_id,
        min(buyer_id) as buyer_id,
        sum(amount) as gross_amount,
        sum(coalesce(refund_amount, 0)) as refund_amount,
        case
            when bool_and(status = 'cancelled') then 'cancelled'
            when bool_and(status = 'refunded') then 'refunded'
            when bool_or(status in ('refunded', 'partially_refunded')) then 'partially_refunded'
            else 'completed'
        end as order_status
    from baseline_order_lines
    group by source, order_id
),

-- a marketplace account that once gave a full phone number is that phone's customer
account_phones as (
    select source, buyer_id, min(phone) as phone
    from orders
    where buyer_id is not null and phone is not null
    group by source, buyer_id
)

select
    orders.source,
    orders.order_id,
    coalesce(
        orders.phone,
        account_phones.phone,
        member_keys.customer_key,
        'member:' || orders.member_id,
        orders.source || ':' || orders.buyer_id
    ) as customer_key,
    orders.ordered_at,
    orders.order_status,
    orders.gross_amount,
    orders.refund_amount,
    case when orders.order_status = 'cancelled' then 0 else greatest(orders.gross_amount - orders.refund_amount, 0)
    end as net_amount
from orders
left join account_phones on orders.source = account_phones.source and orders.buyer_id = account_phones.buyer_id
left join member_keys on orders.member_id = member_keys.member_id;

-- RFM per grading.yml: recency in days since the last purchase (b2b_low_frequency: over the customer's median
-- gap between purchase days in the window, from 2 gaps, else 180 days); frequency and monetary (net) within the
-- profile's look-back window; threshold scores 1..5, their mean the score, A >= 4 > B >= 3 > C >= 2 > D.
create or replace table baseline_grades as
with industries as (
    select
        coalesce(phone, 'member:' || member_id) as customer_key,
        arg_max(industry, registered_at) filter (where industry is not null) as industry
    from baseline_members
    group by all
),

purchases as (
    select customer_key, ordered_at, net_amount
    from baseline_orders
    where customer_key is not null
        -- a purchase has a purchase status and a value (a zero-price order is none), as in crmgrade
        and order_status in ('completed', 'partially_refunded')
        and gross_amount > 0
        and ordered_at < cast(getvariable('as_of') as timestamp)
),

customers as (
    select
        purchases.customer_key,
        case when industries.industry in ('建材', '制造业', '房地产', '物流', '零售', '医疗', '教育', '信息技术', '餐饮', '酒店')
            then 'b2b_low_frequency' else 'default' end as profile
    from purchases
    left join industries on purchases.customer_key = industries.customer_key
    group by all
),

rfm as (
    select
        customers.customer_key,
        customers.profile,
        date_diff('day', cast(max(purchases.ordered_at) as date), getvariable('as_of')) as recency_days,
        count(*) filter (
            where purchases.ordered_at >= cast(getvariable('as_of') as timestamp)
                - to_days(case customers.profile when 'b2b_low_frequency' then 1825 else 730 end)
        ) as frequency,
        coalesce(sum(purchases.net_amount) filter (
            where purchases.ordered_at >= cast(getvariable('as_of') as timestamp)
                - to_days(case customers.profile when 'b2b_low_frequency' then 1825 else 730 end)
        ), 0) as monetary
    from customers
    inner join purchases on customers.customer_key = purchases.customer_key
    group by all
),

gaps as (
    select
        customer_key,
        purchased_on - lag(purchased_on) over (partition by customer_key order by purchased_on) as gap_days
    from (
        select distinct customers.customer_key, cast(purchases.ordered_at as date) as purchased_on
        from customers
        inner join purchases on customers.customer_key = purchases.customer_key
        where customers.profile = 'b2b_low_frequency'
            and purchases.ordered_at >= cast(getvariable('as_of') as timestamp) - to_days(1825)
    )
),

typical_gaps as (
    select customer_key, case when count(gap_days) >= 2 then median(gap_days) else 180 end as typical_gap_days
    from gaps
    group by all
),

recency as (
    select
        rfm.*,
        case when rfm.profile = 'b2b_low_frequency'
            then round(rfm.recency_days / coalesce(typical_gaps.typical_gap_days, 180), 4)
            else rfm.recency_days end as recency_value
    from rfm
    left join typical_gaps on rfm.customer_key = typical_gaps.customer_key
),

scored as (
    select
        *,
        case profile
            when 'b2b_low_frequency'
                then 1 + (recency_value <= 0.75)::int + (recency_value <= 1.25)::int + (recency_value <= 2)::int
                    + (recency_value <= 4)::int
            else 1 + (recency_days <= 30)::int + (recency_days <= 90)::int + (recency_days <= 180)::int
                + (recency_days <= 365)::int
        end as r_score,
        1 + (frequency >= 2)::int + (frequency >= 4)::int + (frequency >= 8)::int + (frequency >= 16)::int as f_score,
        case profile
            -- quintiles of the profile's customers: a value's quintile is that of its first holder
            when 'b2b_low_frequency'
                then 1 + floor(5 * (rank() over (partition by profile order by monetary) - 1)
                    / count(*) over (partition by profile))
            else 1 + (monetary >= 300)::int + (monetary >= 1000)::int + (monetary >= 3000)::int
                + (monetary >= 8000)::int
        end as m_score
    from recency
),

weighted as (
    select
        *,
        round((r_score + f_score + m_score) / 3, 4) as weighted_score,
        recency_value < avg(recency_value) over (partition by profile) as r_high,
        frequency > avg(frequency) over (partition by profile) as f_high,
        monetary > avg(monetary) over (partition by profile) as m_high
    from scored
)

select
    customer_key,
    profile,
    recency_days,
    frequency,
    cast(monetary as decimal(18, 2)) as monetary,
    r_score,
    f_score,
    m_score,
    weighted_score,
    case when weighted_score >= 4 then 'A' when weighted_score >= 3 then 'B' when weighted_score >= 2 then 'C'
        else 'D' end as grade,
    case
        when r_high and f_high and m_high then '重要价值客户'
        when r_high and not f_high and m_high then '重要发展客户'
        when not r_high and f_high and m_high then '重要保持客户'
        when not r_high and not f_high and m_high then '重要挽留客户'
        when r_high and f_high then '一般价值客户'
        when r_high then '一般发展客户'
        when f_high then '一般保持客户'
        else '一般挽留客户'
    end as segment_cn
from weighted;

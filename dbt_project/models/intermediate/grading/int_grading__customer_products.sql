-- What every graded customer bought before the as-of date, per product, with the customer's segment: the
-- basket side of the co-purchase recommendations. A line counts when its status is a purchase status of
-- grading.yml.
with

order_lines as (

    select * from {{ ref('int_order_lines') }}

),

grades as (

    select * from {{ ref('customer_grades') }}

),

settings as (

    select * from {{ ref('stg_grading_spec__settings') }}

),

purchased as (

    select
        order_lines.customer_key,
        order_lines.product_key,
        order_lines.product_name,
        order_lines.ordered_at
    from order_lines
    cross join settings
    where
        order_lines.customer_key is not null
        and order_lines.product_key is not null
        and order_lines.ordered_at < {{ as_of_timestamp() }}
        and {{ list_has('settings.purchase_statuses', 'order_lines.line_status') }}

),

final as (

    select
        grades.customer_key,
        grades.as_of_date,
        grades.segment_en,
        purchased.product_key,
        min(purchased.product_name) as product_name,
        count(*) as purchase_lines,
        max(purchased.ordered_at) as last_purchased_at
    from purchased
    inner join grades
        on purchased.customer_key = grades.customer_key
    group by grades.customer_key, grades.as_of_date, grades.segment_en, purchased.product_key

)

select * from final

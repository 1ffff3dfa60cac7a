-- What every graded customer bought before the as-of date, per product, with the customer's segment: the
-- basket side of the co-purchase recommendations. A line counts when its status is a purchase status of
-- grading.yml. basket_rank orders a customer's products by how recently they were bought: the first
-- recommendations.basket_products make the basket lift is counted on, so a wholesaler's thousands of codes do not
-- make the pair count quadratic in the catalogue.
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

products as (

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

),

final as (

    select
        products.*,
        row_number() over (
            partition by products.customer_key
            order by products.last_purchased_at desc, products.purchase_lines desc, products.product_key asc
        ) as basket_rank
    from products

)

select * from final

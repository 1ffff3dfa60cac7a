-- Per graded customer: the segment's next best action (seed segment_actions) and the products to offer. First
-- products that customers of the same segment who bought what this customer bought buy unusually often
-- (co-purchase lift above recommendations.min_lift, int_grading__product_lift, from the customer's basket), then
-- the segment's most bought products, never one the customer already has. Every row says why.
with

grades as (

    select * from {{ ref('customer_grades') }}

),

actions as (

    select * from {{ ref('segment_actions') }}

),

settings as (

    select * from {{ ref('stg_grading_spec__settings') }}

),

owned as (

    select * from {{ ref('int_grading__customer_products') }}

),

lift as (

    select * from {{ ref('int_grading__product_lift') }}

),

product_names as (

    select
        product_key,
        min(product_name) as product_name
    from owned
    group by product_key

),

owned_counts as (

    select
        customer_key,
        count(*) as owned_products
    from owned
    group by customer_key

),

co_purchase as (

    -- the best reason per customer and candidate: the basket product with the highest lift towards it (the basket,
    -- its most recent products, bounds the rows per customer by basket_products x candidates_per_product)
    select
        owned.customer_key,
        lift.product_key,
        lift.bought_product_key,
        lift.lift,
        lift.confidence,
        row_number() over (
            partition by owned.customer_key, lift.product_key
            order by lift.lift desc, lift.confidence desc, lift.bought_product_key asc
        ) as reason_rank
    from owned
    cross join settings
    inner join lift
        on owned.segment_en = lift.segment_en
            and owned.product_key = lift.bought_product_key
    left join owned as already
        on owned.customer_key = already.customer_key
            and lift.product_key = already.product_key
    where owned.basket_rank <= settings.recommendation_basket_products
        and lift.lift > settings.recommendation_min_lift
        and already.customer_key is null

),

segment_popularity as (

    select
        segment_en,
        product_key,
        count(*) as product_customers,
        row_number() over (partition by segment_en order by count(*) desc, product_key) as popularity_rank
    from owned
    group by segment_en, product_key

),

segment_sizes as (

    select
        segment_en,
        count(distinct customer_key) as segment_customers
    from owned
    group by segment_en

),

popular as (

    -- the top (per_customer + products owned) of the segment hold the customer's top per_customer unowned
    select
        grades.customer_key,
        segment_popularity.product_key,
        segment_popularity.product_customers * 1.0 / segment_sizes.segment_customers as buyer_share,
        segment_popularity.popularity_rank
    from grades
    cross join settings
    left join owned_counts
        on grades.customer_key = owned_counts.customer_key
    inner join segment_popularity
        on grades.segment_en = segment_popularity.segment_en
            and segment_popularity.popularity_rank
            <= settings.recommendations_per_customer + coalesce(owned_counts.owned_products, 0)
    inner join segment_sizes
        on grades.segment_en = segment_sizes.segment_en
    left join owned as already
        on grades.customer_key = already.customer_key
            and segment_popularity.product_key = already.product_key
    where already.customer_key is null

),

candidates as (

    select
        customer_key,
        product_key,
        'co_purchase' as basis,
        bought_product_key,
        lift,
        confidence,
        null as buyer_share,
        1 as basis_order,
        lift as strength
    from co_purchase
    where reason_rank = 1

    union all

    select
        popular.customer_key,
        popular.product_key,
        'segment_popular',
        null,
        null,
        null,
        popular.buyer_share,
        2,
        popular.buyer_share
    from popular
    left join co_purchase
        on popular.customer_key = co_purchase.customer_key
            and popular.product_key = co_purchase.product_key
    where co_purchase.customer_key is null

),

ranked as (

    select
        candidates.*,
        row_number() over (
            partition by candidates.customer_key
            order by candidates.basis_order asc, candidates.strength desc, candidates.product_key asc
        ) as recommendation_rank
    from candidates

),

chosen as (

    select ranked.*
    from ranked
    cross join settings
    where ranked.recommendation_rank <= settings.recommendations_per_customer

),

final as (

    select
        grades.customer_key,
        grades.as_of_date,
        grades.grade,
        grades.segment_cn,
        grades.segment_en,
        actions.next_best_action,
        actions.action_cn,
        actions.playbook,
        actions.playbook_cn,
        coalesce(chosen.recommendation_rank, 1) as recommendation_rank,
        coalesce(chosen.basis, 'none') as basis,
        chosen.product_key,
        offered.product_name,
        chosen.bought_product_key as because_of_product_key,
        chosen.lift,
        chosen.confidence,
        chosen.buyer_share,
        case chosen.basis
            when 'co_purchase'
                then
                    'Bought ' || because.product_name || '; ' || grades.segment_en || ' customers who bought it buy '
                    || offered.product_name || ' ' || cast(round(chosen.lift, 1) as {{ dbt.type_string() }})
                    || 'x as often as the segment overall (' || cast(round(100 * chosen.confidence) as integer)
                    || '% of them did).'
            when 'segment_popular'
                then
                    'Popular in ' || grades.segment_en || ': ' || cast(round(100 * chosen.buyer_share) as integer)
                    || '% of its customers bought ' || offered.product_name || '.'
            else 'Nothing left to offer: the customer has bought every product the segment buys.'
        end as reason,
        case chosen.basis
            when 'co_purchase'
                then
                    '购买过' || because.product_name || '；同分群（' || grades.segment_en || '）购买过该商品的客户购买'
                    || offered.product_name || '的比例是分群整体的' || cast(round(chosen.lift, 1) as {{ dbt.type_string() }})
                    || '倍（' || cast(round(100 * chosen.confidence) as integer) || '%）。'
            when 'segment_popular'
                then
                    grades.segment_en || '分群热销：' || cast(round(100 * chosen.buyer_share) as integer)
                    || '%的客户购买过' || offered.product_name || '。'
            else '该客户已购买分群内的全部商品。'
        end as reason_cn
    from grades
    left join actions
        on grades.segment_en = actions.segment_en
    left join chosen
        on grades.customer_key = chosen.customer_key
    left join product_names as offered
        on chosen.product_key = offered.product_key
    left join product_names as because
        on chosen.bought_product_key = because.product_key

)

select * from final

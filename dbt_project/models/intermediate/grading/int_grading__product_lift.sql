-- Co-purchase lift within each segment: of the segment's customers who bought product a, how much more often
-- did they buy product b than the segment's customers overall? lift = P(b | a) / P(b) = n_ab * n / (n_a * n_b).
-- Pairs bought together by fewer than recommendations.min_pair_customers customers are left out (noise).
with

customer_products as (

    select * from {{ ref('int_grading__customer_products') }}

),

settings as (

    select * from {{ ref('stg_grading_spec__settings') }}

),

segment_sizes as (

    select
        segment_en,
        count(distinct customer_key) as segment_customers
    from customer_products
    group by segment_en

),

product_buyers as (

    select
        segment_en,
        product_key,
        count(*) as product_customers
    from customer_products
    group by segment_en, product_key

),

pairs as (

    select
        bought.segment_en,
        bought.product_key as bought_product_key,
        other.product_key as product_key,
        count(*) as pair_customers
    from customer_products as bought
    inner join customer_products as other
        on bought.customer_key = other.customer_key
        and bought.product_key != other.product_key
    group by bought.segment_en, bought.product_key, other.product_key

),

final as (

    select
        pairs.segment_en,
        pairs.bought_product_key,
        pairs.product_key,
        pairs.pair_customers,
        bought.product_customers as bought_product_customers,
        other.product_customers,
        segment_sizes.segment_customers,
        pairs.pair_customers * 1.0 / bought.product_customers as confidence,
        pairs.pair_customers * 1.0 * segment_sizes.segment_customers
            / (bought.product_customers * other.product_customers) as lift
    from pairs
    cross join settings
    inner join segment_sizes
        on pairs.segment_en = segment_sizes.segment_en
    inner join product_buyers as bought
        on pairs.segment_en = bought.segment_en
        and pairs.bought_product_key = bought.product_key
    inner join product_buyers as other
        on pairs.segment_en = other.segment_en
        and pairs.product_key = other.product_key
    where pairs.pair_customers >= settings.recommendation_min_pair_customers

)

select * from final

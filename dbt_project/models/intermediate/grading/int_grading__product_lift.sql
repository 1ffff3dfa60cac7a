-- Co-purchase lift within each segment: of the segment's customers who bought product a, how much more often
-- did they buy product b than the segment's customers overall? lift = P(b | a) / P(b) = n_ab * n / (n_a * n_b).
-- Bounded by the catalogue, not quadratic in it (docs/grading.md "Products to offer"):
--   * counted on each customer's basket, its recommendations.basket_products most recently bought products;
--   * a product bought by fewer than min_pair_customers of the segment cannot be in a pair that reaches the floor,
--     so it is left out before the self-join (exact: it prunes nothing that could count);
--   * a pair counts when min_pair_customers bought both (support), min_confidence of a's buyers bought b
--     (confidence) and its lift exceeds min_lift;
--   * per segment and bought product, the candidates_per_product pairs of highest lift are kept.
with

customer_products as (

    select * from {{ ref('int_grading__customer_products') }}

),

settings as (

    select * from {{ ref('stg_grading_spec__settings') }}

),

basket as (

    select
        customer_products.customer_key,
        customer_products.segment_en,
        customer_products.product_key
    from customer_products
    cross join settings
    where customer_products.basket_rank <= settings.recommendation_basket_products

),

segment_sizes as (

    select
        segment_en,
        count(distinct customer_key) as segment_customers
    from basket
    group by segment_en

),

product_buyers as (

    select
        segment_en,
        product_key,
        count(*) as product_customers
    from basket
    group by segment_en, product_key

),

frequent_basket as (

    select
        basket.customer_key,
        basket.segment_en,
        basket.product_key
    from basket
    cross join settings
    inner join product_buyers
        on basket.segment_en = product_buyers.segment_en
            and basket.product_key = product_buyers.product_key
    where product_buyers.product_customers >= settings.recommendation_min_pair_customers

),

pairs as (

    select
        bought.segment_en,
        bought.product_key as bought_product_key,
        other.product_key,
        count(*) as pair_customers
    from frequent_basket as bought
    inner join frequent_basket as other
        on bought.customer_key = other.customer_key
            and bought.product_key != other.product_key
    group by bought.segment_en, bought.product_key, other.product_key

),

measured as (

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

),

ranked as (

    select
        measured.*,
        row_number() over (
            partition by measured.segment_en, measured.bought_product_key
            order by measured.lift desc, measured.confidence desc, measured.product_key asc
        ) as candidate_rank
    from measured
    cross join settings
    where measured.confidence >= settings.recommendation_min_confidence
        and measured.lift > settings.recommendation_min_lift

),

final as (

    select ranked.*
    from ranked
    cross join settings
    where ranked.candidate_rank <= settings.recommendation_candidates_per_product

)

select * from final

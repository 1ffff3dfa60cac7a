with

source as (

    select * from {{ source('grading_spec', 'settings') }}

),

renamed as (

    select
        spec_version,
        purchase_statuses,
        monetary_basis,
        return_window_days,
        segment_split,
        segment_min_score,
        recommendations_per_customer,
        recommendation_min_pair_customers,
        recommendation_min_lift,
        recommendation_min_confidence,
        recommendation_candidates_per_product,
        recommendation_basket_products,
        currency
    from source

)

select * from renamed

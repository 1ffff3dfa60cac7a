with

source as (

    select * from {{ source('clv', 'customer_predictions') }}

),

renamed as (

    select
        customer_key,
        cast(as_of_date as date) as as_of_date,
        profile,
        clv_model as fitted_on,
        clv_fit,
        cast(transactions as bigint) as purchase_days,
        cast(repeat_transactions as bigint) as repeat_purchase_days,
        cast(recency_t as double) as recency_t,
        cast(age_t as double) as age_t,
        time_unit,
        cast(mean_repeat_value as double) as mean_repeat_value,
        cast(p_alive as double) as p_alive,
        cast(expected_purchases as double) as expected_purchases,
        cast(p_no_purchase as double) as p_no_purchase,
        churn_risk,
        cast(expected_spend_gross as double) as expected_spend_gross,
        cast(refund_share as double) as refund_share,
        cast(clv as double) as clv,
        cast(horizon_months as integer) as horizon_months,
        cast(annual_discount_rate as double) as annual_discount_rate

    from source

)

select * from renamed

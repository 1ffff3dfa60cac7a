-- Predicted value per customer at the as-of date (BG/NBD + Gamma-Gamma, fitted in pipeline/grading/clv.py).
with

predictions as (

    select * from {{ ref('stg_clv__customer_predictions') }}

),

final as (

    select
        customer_key,
        as_of_date,
        profile,
        fitted_on,
        clv_fit,
        purchase_days,
        repeat_purchase_days,
        recency_t,
        age_t,
        time_unit,
        mean_repeat_value,
        p_alive,
        expected_purchases,
        p_no_purchase,
        churn_risk,
        expected_spend_gross,
        refund_share,
        clv,
        horizon_months,
        annual_discount_rate
    from predictions

)

select * from final

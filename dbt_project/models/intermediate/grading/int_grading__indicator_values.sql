-- The value of every scored dimension per graded customer, long: recency (days, or days over the customer's
-- typical gap: int_grading__recency), frequency and monetary within the profile's look-back window
-- (int_grading__purchase_totals), further dimensions from fct_customer columns
-- (int_grading_inputs__customers).
with

customers as (

    select * from {{ ref('int_grading__customer_profiles') }}

),

dimensions as (

    select * from {{ ref('stg_grading_spec__dimensions') }}

),

recency as (

    select * from {{ ref('int_grading__recency') }}

),

purchase_totals as (

    select * from {{ ref('int_grading__purchase_totals') }}

),

customer_columns as (

    select * from {{ grading_input('customers') }}

),

values_long as (

    select
        customer_key,
        'recency' as indicator,
        cast(recency_days as double) as value
    from recency
    union all
    select
        customer_key,
        'recency_cadence',
        recency_cadence
    from recency
    union all
    select
        customer_key,
        'frequency',
        cast(frequency as double)
    from purchase_totals
    union all
    select
        customer_key,
        'monetary',
        cast(monetary as double)
    from purchase_totals
    {%- for column in var('gradeable_indicators') %}
        union all
        select
            customer_key,
            '{{ column }}',
            cast({{ column }} as double)
        from customer_columns
    {%- endfor %}

),

final as (

    select
        customers.customer_key,
        customers.as_of_date,
        customers.profile,
        dimensions.dimension,
        dimensions.indicator,
        dimensions.method,
        dimensions.higher_is_better,
        dimensions.weight,
        values_long.value
    from customers
    inner join dimensions on customers.profile = dimensions.profile
    left join values_long
        on customers.customer_key = values_long.customer_key
            and dimensions.indicator = values_long.indicator

)

select * from final

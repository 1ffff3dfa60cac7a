-- The value of every scored dimension per graded customer, long: recency, frequency and monetary from the
-- orders before the as-of date (frequency and monetary within the profile's look-back window, purchases as
-- grading.yml defines them), further dimensions from fct_customer columns.
with

customers as (

    select * from {{ ref('int_grading__customer_profiles') }}

),

dimensions as (

    select * from {{ ref('stg_grading_spec__dimensions') }}

),

settings as (

    select * from {{ ref('stg_grading_spec__settings') }}

),

purchases as (

    select
        orders.customer_key,
        orders.ordered_at,
        case when settings.monetary_basis = 'gross' then orders.gross_amount else orders.net_amount end as amount
    from {{ ref('fct_orders') }} as orders
    cross join settings
    where orders.ordered_at < {{ as_of_timestamp() }}
        and {{ list_has('settings.purchase_statuses', 'orders.order_status') }}

),

rfm as (

    select
        customers.customer_key,
        {{ dbt.datediff('cast(max(purchases.ordered_at) as date)', as_of_date(), 'day') }} as recency,
        count(purchases.ordered_at) filter (
            where purchases.ordered_at >= {{ dbt.dateadd('day', '-1 * customers.lookback_days', as_of_timestamp()) }}
        ) as frequency,
        coalesce(sum(purchases.amount) filter (
            where purchases.ordered_at >= {{ dbt.dateadd('day', '-1 * customers.lookback_days', as_of_timestamp()) }}
        ), 0) as monetary
    from customers
    left join purchases on customers.customer_key = purchases.customer_key
    group by customers.customer_key

),

values_long as (

    select customer_key, 'recency' as indicator, cast(recency as double) as value from rfm
    union all
    select customer_key, 'frequency', cast(frequency as double) from rfm
    union all
    select customer_key, 'monetary', cast(monetary as double) from rfm
    {%- for column in var('gradeable_indicators') %}
    union all
    select customer_key, '{{ column }}', cast({{ column }} as double) from {{ ref('fct_customer') }}
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

{#- The difference in differences of net spend between a treated group and its comparison group, shared by
    campaign_effect (treated: a campaign's contacts) and membership_effect (treated: the customers who joined the
    loyalty programme in a month). The calling model defines purchases and grades with spend_effect_inputs(), then
    the CTE members (group_id, event_date, customer_key, is_targeted, responded, stratum): one row per group and
    customer, is_targeted false for the comparison group, each with the day its windows turn on;
    spend_effect_ctes adds spend ... effects: per group, breakdown (all, or grade held on event_date) and value, the
    sums that spend_effect_columns turns into means, the uplift, its standard error and the incremental revenue.
    Within a stratum the comparison's means are weighted to the treated customers' count; a stratum needs two
    comparison customers (a spread) to count. -#}
{#- The CTEs both effects read: purchases with their value, and the grade history (for the grade held on a day). -#}
{% macro spend_effect_inputs() %}
purchases as (

    select customer_key, order_date, net_amount, margin_amount from {{ ref('int_orders') }}
    where is_purchase and customer_key is not null

),

grades as (

    select as_of_date, customer_key, grade from {{ ref('grade_history') }}

)
{%- endmacro %}

{% macro spend_effect_ctes(window_days) %}

spend as (

    select
        members.group_id,
        members.customer_key,
        coalesce(sum(purchases.net_amount) filter (where purchases.order_date < members.event_date), 0)
            as pre_spend,
        coalesce(sum(purchases.net_amount) filter (where purchases.order_date >= members.event_date), 0)
            as post_spend,
        coalesce(sum(purchases.margin_amount) filter (where purchases.order_date < members.event_date), 0)
            as pre_margin,
        coalesce(sum(purchases.margin_amount) filter (where purchases.order_date >= members.event_date), 0)
            as post_margin,
        -- a purchase without the cost of its goods: the customer's margin in the windows is unknown
        count(*) filter (where purchases.customer_key is not null and purchases.margin_amount is null)
            as purchases_without_cost
    from members
    left join purchases
        on members.customer_key = purchases.customer_key
        and purchases.order_date >= {{ dbt.dateadd('day', -window_days, 'members.event_date') }}
        and purchases.order_date < {{ dbt.dateadd('day', window_days, 'members.event_date') }}
    group by members.group_id, members.customer_key

),

-- the grade each customer held on its event day: the latest graded day on or before it
graded_days as (

    select
        members.group_id,
        members.customer_key,
        max(grades.as_of_date) as graded_on
    from members
    inner join grades
        on members.customer_key = grades.customer_key and grades.as_of_date <= members.event_date
    group by members.group_id, members.customer_key

),

grade_then as (

    select
        graded_days.group_id,
        graded_days.customer_key,
        grades.grade
    from graded_days
    inner join grades
        on graded_days.customer_key = grades.customer_key and graded_days.graded_on = grades.as_of_date

),

measured as (

    select
        members.*,
        spend.pre_spend,
        spend.post_spend,
        spend.post_spend - spend.pre_spend as spend_change,
        spend.pre_margin,
        spend.post_margin,
        spend.post_margin - spend.pre_margin as margin_change,
        spend.purchases_without_cost = 0 as margin_known,
        coalesce(grade_then.grade, '(not graded then)') as grade_then
    from members
    inner join spend
        on members.group_id = spend.group_id and members.customer_key = spend.customer_key
    left join grade_then
        on members.group_id = grade_then.group_id and members.customer_key = grade_then.customer_key

),

breakdowns as (

    select 'all' as breakdown, 'all' as breakdown_value, * from measured
    union all
    select 'grade' as breakdown, grade_then as breakdown_value, * from measured

),

-- a stratum of one treated customer has no spread of its own: the spread of the group's treated customers over
-- every stratum stands in for it. Never a zero variance: where that is unknown too, so is the standard error.
pooled as (

    select
        group_id,
        breakdown,
        breakdown_value,
        var_samp(spend_change) filter (where is_targeted) as targeted_change_variance,
        var_samp(margin_change) filter (where is_targeted) as targeted_margin_change_variance
    from breakdowns
    group by group_id, breakdown, breakdown_value

),

strata as (

    select
        group_id,
        breakdown,
        breakdown_value,
        stratum,
        count(*) filter (where is_targeted) as targeted,
        count(*) filter (where is_targeted and responded) as responders,
        count(*) filter (where not is_targeted) as comparison,
        var_samp(spend_change) filter (where is_targeted) as targeted_change_variance,
        var_samp(spend_change) filter (where not is_targeted) as comparison_change_variance,
        sum(pre_spend) filter (where is_targeted) as targeted_pre,
        sum(post_spend) filter (where is_targeted) as targeted_post,
        sum(post_spend) filter (where is_targeted and responded) as responder_post,
        sum(post_spend) filter (where is_targeted and not responded) as non_responder_post,
        avg(pre_spend) filter (where not is_targeted) as comparison_pre_mean,
        avg(post_spend) filter (where not is_targeted) as comparison_post_mean,
        -- the same on margin (net spend less the cost of the goods), where every purchase has its cost
        count(*) filter (where not margin_known) as margin_unknown,
        var_samp(margin_change) filter (where is_targeted) as targeted_margin_change_variance,
        var_samp(margin_change) filter (where not is_targeted) as comparison_margin_change_variance,
        sum(pre_margin) filter (where is_targeted) as targeted_pre_margin,
        sum(post_margin) filter (where is_targeted) as targeted_post_margin,
        avg(pre_margin) filter (where not is_targeted) as comparison_pre_margin_mean,
        avg(post_margin) filter (where not is_targeted) as comparison_post_margin_mean
    from breakdowns
    group by group_id, breakdown, breakdown_value, stratum

),

strata_spread as (

    select
        strata.*,
        coalesce(strata.targeted_change_variance, pooled.targeted_change_variance) as targeted_spread,
        coalesce(strata.targeted_margin_change_variance, pooled.targeted_margin_change_variance)
            as targeted_margin_spread
    from strata
    inner join pooled
        on strata.group_id = pooled.group_id
        and strata.breakdown = pooled.breakdown
        and strata.breakdown_value = pooled.breakdown_value

),

effects as (

    select
        group_id,
        breakdown,
        breakdown_value,
        sum(targeted) as targeted_customers,
        sum(responders) as responders,
        sum(comparison) as comparison_customers,
        -- the treated customers of strata with a comparison: the ones the effect is measured on
        sum(targeted) filter (where comparison >= 2) as matched_customers,
        sum(comparison) filter (where comparison >= 2 and targeted > 0) as matched_comparison_customers,
        sum(targeted_pre) filter (where comparison >= 2) as matched_pre,
        sum(targeted_post) filter (where comparison >= 2) as matched_post,
        sum(targeted * comparison_pre_mean) filter (where comparison >= 2) as comparison_pre_weighted,
        sum(targeted * comparison_post_mean) filter (where comparison >= 2) as comparison_post_weighted,
        {{ stratified_variance_numerator('targeted_spread', 'comparison_change_variance') }}
            as uplift_variance_numerator,
        sum(responder_post) as responder_post,
        sum(non_responder_post) as non_responder_post,
        -- margin: known when no measured customer lacks a cost
        sum(margin_unknown) filter (where comparison >= 2 and targeted > 0) as margin_unknown_customers,
        sum(targeted_post_margin - targeted_pre_margin) filter (where comparison >= 2) as matched_margin_change,
        sum(targeted * (comparison_post_margin_mean - comparison_pre_margin_mean)) filter (where comparison >= 2)
            as comparison_margin_change_weighted,
        {{ stratified_variance_numerator('targeted_margin_spread', 'comparison_margin_change_variance') }}
            as margin_uplift_variance_numerator
    from strata_spread
    group by group_id, breakdown, breakdown_value

)

{% endmacro %}

{#- Over the strata of a group (columns targeted, comparison and the two spreads named): n_s^2 * (var_targeted /
    n_s + var_comparison / c_s), summed over the measured strata; over N^2 it is the uplift's variance. Unknown
    (null) when a measured stratum's treated spread is unknown: a sum would skip it as 0. -#}
{% macro stratified_variance_numerator(targeted_spread, comparison_variance) %}
        case
            when count(*) filter (where comparison >= 2 and targeted > 0 and {{ targeted_spread }} is null) = 0
                then sum(
                    targeted * {{ targeted_spread }} + targeted * targeted * {{ comparison_variance }} / comparison
                ) filter (where comparison >= 2 and targeted > 0)
        end
{%- endmacro %}

{#- The measures of an `effects` row: counts, the means before and after, and - when at least `min_customers`
    treated customers are measured against at least `min_customers` comparison customers - the uplift per measured
    customer with its standard error, and the incremental revenue (and the same three on margin, where every
    measured customer's purchases carry the cost of their goods); below that, `estimate` says 'insufficient data'
    and the row carries no estimate (a month of 2 joiners is no evidence either way). -#}
{% macro spend_effect_columns(effects='effects', min_customers=30) %}
    {%- set enough -%}
        coalesce({{ effects }}.matched_customers, 0) >= {{ min_customers }}
        and coalesce({{ effects }}.matched_comparison_customers, 0) >= {{ min_customers }}
    {%- endset %}
        cast(coalesce({{ effects }}.targeted_customers, 0) as bigint) as targeted_customers,
        cast(coalesce({{ effects }}.comparison_customers, 0) as bigint) as comparison_customers,
        cast(coalesce({{ effects }}.matched_customers, 0) as bigint) as matched_customers,
        cast(coalesce({{ effects }}.matched_comparison_customers, 0) as bigint) as matched_comparison_customers,
        case when {{ enough }} then 'estimated' else 'insufficient data' end as estimate,
        {{ effects }}.matched_pre / nullif({{ effects }}.matched_customers, 0) as targeted_pre_spend,
        {{ effects }}.matched_post / nullif({{ effects }}.matched_customers, 0) as targeted_post_spend,
        {{ effects }}.comparison_pre_weighted / nullif({{ effects }}.matched_customers, 0) as comparison_pre_spend,
        {{ effects }}.comparison_post_weighted / nullif({{ effects }}.matched_customers, 0) as comparison_post_spend,
        case when {{ enough }} then
            ({{ effects }}.matched_post - {{ effects }}.matched_pre - {{ effects }}.comparison_post_weighted
                + {{ effects }}.comparison_pre_weighted) / {{ effects }}.matched_customers
        end as uplift_per_customer,
        case when {{ enough }} then
            sqrt({{ effects }}.uplift_variance_numerator) / {{ effects }}.matched_customers
        end as uplift_standard_error,
        case when {{ enough }} then
            {{ effects }}.matched_post - {{ effects }}.matched_pre - {{ effects }}.comparison_post_weighted
                + {{ effects }}.comparison_pre_weighted
        end as incremental_revenue,
        -- the same difference on margin, where every measured customer's purchases carry the cost of their goods
        case when {{ enough }} and {{ effects }}.margin_unknown_customers = 0 then
            ({{ effects }}.matched_margin_change - {{ effects }}.comparison_margin_change_weighted)
                / {{ effects }}.matched_customers
        end as margin_uplift_per_customer,
        case when {{ enough }} and {{ effects }}.margin_unknown_customers = 0 then
            sqrt({{ effects }}.margin_uplift_variance_numerator) / {{ effects }}.matched_customers
        end as margin_uplift_standard_error,
        case when {{ enough }} and {{ effects }}.margin_unknown_customers = 0 then
            {{ effects }}.matched_margin_change - {{ effects }}.comparison_margin_change_weighted
        end as incremental_margin
{%- endmacro %}

{#- The 95% interval of the uplift (normal approximation), over a relation with spend_effect_columns. -#}
{% macro spend_effect_interval() %}
    uplift_per_customer - 1.96 * uplift_standard_error as uplift_ci_low,
    uplift_per_customer + 1.96 * uplift_standard_error as uplift_ci_high
{%- endmacro %}

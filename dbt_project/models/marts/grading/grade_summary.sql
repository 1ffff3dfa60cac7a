-- KPIs at the as-of date, for all graded customers and per grade, segment and way recency was judged
-- (recency_method): customers, revenue (net spend in the look-back window), repeat rate (two or more purchases
-- in the window), churn rate (last purchase more than the profile's churn_after_days ago, grading.yml), predicted
-- value (BG/NBD + Gamma-Gamma, customer_clv), and for all customers the lead conversion rate.
with

grades as (

    select * from {{ ref('customer_grades') }}

),

customers as (

    select * from {{ ref('fct_customer') }}

),

predictions as (

    select * from {{ ref('customer_clv') }}

),

profiles as (

    select * from {{ ref('int_grading__customer_profiles') }}

),

graded as (

    select
        grades.as_of_date,
        grades.grade,
        grades.segment_cn,
        grades.segment_en,
        grades.recency_method,
        grades.frequency,
        grades.monetary,
        grades.monetary_net_provisional,
        predictions.clv,
        predictions.churn_risk,
        grades.recency_days > profiles.churn_after_days as churned
    from grades
    left join profiles on grades.customer_key = profiles.customer_key
    left join predictions
        on grades.customer_key = predictions.customer_key
            and grades.as_of_date = predictions.as_of_date

),

breakdowns as (

    select
        as_of_date,
        'all' as breakdown,
        'all' as breakdown_value,
        frequency,
        monetary,
        monetary_net_provisional,
        clv,
        churn_risk,
        churned
    from graded
    union all
    select
        as_of_date,
        'grade',
        grade,
        frequency,
        monetary,
        monetary_net_provisional,
        clv,
        churn_risk,
        churned
    from graded
    union all
    select
        as_of_date,
        'segment_cn',
        segment_cn,
        frequency,
        monetary,
        monetary_net_provisional,
        clv,
        churn_risk,
        churned
    from graded
    union all
    select
        as_of_date,
        'segment_en',
        segment_en,
        frequency,
        monetary,
        monetary_net_provisional,
        clv,
        churn_risk,
        churned
    from graded
    union all
    select
        as_of_date,
        'recency_method',
        recency_method,
        frequency,
        monetary,
        monetary_net_provisional,
        clv,
        churn_risk,
        churned
    from graded

),

leads as (

    select
        sum(lead_count) as leads,
        sum(converted_lead_count) as converted_leads
    from customers

),

aggregated as (

    select
        as_of_date,
        breakdown,
        breakdown_value,
        count(*) as customers,
        sum(monetary) as revenue,
        sum(monetary_net_provisional) as net_revenue_provisional,
        avg(case when frequency >= 2 then 1.0 else 0.0 end) as repeat_rate,
        avg(case when churned then 1.0 else 0.0 end) as churn_rate,
        count(clv) as predicted_customers,
        sum(clv) as predicted_value,
        avg(clv) as average_clv,
        avg(case when churn_risk = 'high' then 1.0 when churn_risk is not null then 0.0 end) as high_churn_risk_rate
    from breakdowns
    group by as_of_date, breakdown, breakdown_value

),

final as (

    select
        aggregated.as_of_date,
        aggregated.breakdown,
        aggregated.breakdown_value,
        aggregated.customers,
        aggregated.customers / sum(aggregated.customers) over (partition by aggregated.breakdown)
            as share_of_customers,
        aggregated.revenue,
        case when sum(aggregated.revenue) over (partition by aggregated.breakdown) > 0
                then aggregated.revenue / sum(aggregated.revenue) over (partition by aggregated.breakdown)
        end as share_of_revenue,
        aggregated.revenue / aggregated.customers as revenue_per_customer,
        aggregated.net_revenue_provisional,
        aggregated.repeat_rate,
        aggregated.churn_rate,
        aggregated.predicted_customers,
        aggregated.predicted_value,
        aggregated.average_clv,
        aggregated.high_churn_risk_rate,
        case when aggregated.breakdown = 'all' and leads.leads > 0
                then leads.converted_leads / leads.leads
        end as lead_conversion_rate
    from aggregated
    cross join leads

)

select * from final

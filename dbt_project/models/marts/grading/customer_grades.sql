-- RFM quintile scores and a grade per customer with at least one purchase. Ties are broken by
-- customer_key so that a re-run gives the same scores.
with

customers as (

    select * from {{ ref('fct_customer') }}
    where frequency > 0

),

scored as (

    select
        customer_key,
        as_of_date,
        recency_days,
        frequency,
        monetary,
        ntile(5) over (order by recency_days desc, customer_key) as r_score,
        ntile(5) over (order by frequency, customer_key) as f_score,
        ntile(5) over (order by monetary, customer_key) as m_score
    from customers

),

final as (

    select
        *,
        cast(r_score as varchar) || cast(f_score as varchar) || cast(m_score as varchar) as rfm_code,
        r_score + f_score + m_score as rfm_score,
        case
            when r_score + f_score + m_score >= 13 then 'A'
            when r_score + f_score + m_score >= 10 then 'B'
            when r_score + f_score + m_score >= 7 then 'C'
            else 'D'
        end as grade
    from scored

)

select * from final

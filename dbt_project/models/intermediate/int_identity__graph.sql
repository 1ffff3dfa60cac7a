-- The identity graph: every person record with its customer and the evidence that put it there.
-- `linked_by` lists the identifiers the record shares with other records; `match_probability` is Splink's
-- score when the record's identifier group was joined to the customer by a probabilistic match.
-- Built per customer: a run recomputes the customers identity changed (macros/customer_increment.sql).
{{ config(**customer_increment_config()) }}

with

links as (

    select * from {{ ref('stg_identity__record_links') }}
    where {{ changed_customers_only('customer_key') }}

),

-- per customer, aggregated apart: a distinct count over a window is not portable (Spark has none)
per_customer as (

    select
        customer_key,
        count(*) as customer_record_count,
        count(distinct identifier_group) as customer_group_count
    from links
    group by customer_key

),

final as (

    select
        links.customer_key,
        links.source_name,
        links.source_file,
        links.source_row_number,
        links.entity,
        links.link_rule,
        links.linked_by,
        links.match_probability,
        links.matched_source,
        links.identifier_group,
        links.observed_at,
        per_customer.customer_record_count,
        per_customer.customer_group_count
    from links
    left join per_customer on links.customer_key = per_customer.customer_key

)

select * from final

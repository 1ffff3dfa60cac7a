-- The identity graph: every person record with its customer and the evidence that put it there.
-- `linked_by` lists the identifiers the record shares with other records; `match_probability` is Splink's
-- score when the record's identifier group was joined to the customer by a probabilistic match.
with

links as (

    select * from {{ ref('stg_identity__record_links') }}

),

final as (

    select
        customer_key,
        source_name,
        source_file,
        source_row_number,
        entity,
        link_rule,
        linked_by,
        match_probability,
        matched_source,
        identifier_group,
        observed_at,
        count(*) over (partition by customer_key) as customer_record_count,
        count(distinct identifier_group) over (partition by customer_key) as customer_group_count
    from links

)

select * from final

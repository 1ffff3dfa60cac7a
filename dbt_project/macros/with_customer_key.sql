{#- A staged relation with the identity graph's customer_key, joined on raw lineage (every person record of
    every source has exactly one graph row; a row without one is anonymous, its customer_key null). Used by the
    intermediate event models.

    In a model built per customer (macros/customer_increment.sql) that is not recomputing everyone: only the rows
    of the customers identity changed, and the anonymous rows of the files delivered since the last build. -#}
{% macro with_customer_key(staged_relation) -%}
    {%- set graph = ref('int_identity__graph') -%}
    {%- if customer_increment().incremental -%}
    select
        staged.*,
        graph.customer_key
    from {{ staged_relation }} as staged
    inner join {{ graph }} as graph
        on staged.source_name = graph.source_name
        and staged.source_file = graph.source_file
        and staged.source_row_number = graph.source_row_number
    where {{ changed_customers_only('graph.customer_key') }}
    union all
    select
        staged.*,
        graph.customer_key
    from {{ staged_relation }} as staged
    left join (
        select * from {{ graph }}
        where (source_name, source_file) in (
            select (source_name, source_file) from {{ staged_relation }} where {{ delivered_since_last_build() }}
        )
    ) as graph
        on staged.source_name = graph.source_name
        and staged.source_file = graph.source_file
        and staged.source_row_number = graph.source_row_number
    where {{ delivered_since_last_build('staged.ingested_at') }} and graph.customer_key is null
    {%- else -%}
    select
        staged.*,
        graph.customer_key
    from {{ staged_relation }} as staged
    left join {{ graph }} as graph
        on staged.source_name = graph.source_name
        and staged.source_file = graph.source_file
        and staged.source_row_number = graph.source_row_number
    {%- endif -%}
{%- endmacro %}

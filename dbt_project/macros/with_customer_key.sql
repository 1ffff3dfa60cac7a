{#- A staged relation with the identity graph's customer_key, joined on raw lineage (every person record of
    every source has exactly one graph row). Used by the intermediate event models. -#}
{% macro with_customer_key(staged_relation) -%}
    select
        staged.*,
        graph.customer_key
    from {{ staged_relation }} as staged
    left join {{ ref('int_identity__graph') }} as graph
        on staged.source_name = graph.source_name
        and staged.source_file = graph.source_file
        and staged.source_row_number = graph.source_row_number
{%- endmacro %}

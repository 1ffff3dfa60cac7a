{#- Golden-record survivorship: the value from the most trusted source that has one, and among equally
    trusted records the most recent. Used inside a `group by customer_key`. -#}
{% macro survivor(column) -%}
    {#- the record's lineage breaks ties of trust and time, so a re-run picks the same value -#}
    first(
        {{ column }}
        order by trust_rank, observed_at desc nulls last, source_name, source_file, source_row_number
    ) filter (where {{ column }} is not null)
{%- endmacro %}

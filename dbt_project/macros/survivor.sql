{#- Golden-record survivorship: the value from the most trusted source that has one, and among equally
    trusted records the most recent. Used inside a `group by customer_key`. -#}
{% macro survivor(column) -%}
    arg_min(
        {{ column }},
        trust_rank * 10000000000 - coalesce(epoch(observed_at), 0)
    ) filter (where {{ column }} is not null)
{%- endmacro %}

{#- The grading date: var('as_of_date') when set, else the latest order date that is not in the future. -#}
{% macro as_of_date(orders_relation) -%}
    {%- if var('as_of_date', '') -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (select cast(max(ordered_at) as date) from {{ orders_relation }} where ordered_at <= current_timestamp)
    {%- endif -%}
{%- endmacro %}

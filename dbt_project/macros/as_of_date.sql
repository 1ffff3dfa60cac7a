{#- The as-of date of the facts: var('as_of_date') (YYYY-MM-DD; the pipeline always passes it), else today in
    var('timezone'). Facts use only data stamped before it: as_of_timestamp() is its first instant. -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date', '') -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        cast(timezone('{{ var("timezone") }}', current_timestamp) as date)
    {%- endif -%}
{%- endmacro %}

{% macro as_of_timestamp() -%}
    cast({{ as_of_date() }} as timestamp)
{%- endmacro %}

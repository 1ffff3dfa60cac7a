{#-
  Fails for every value of a text column that holds a full phone number or an e-mail address in clear. Masked
  forms pass: 138****5678 has no run of 11 digits, w***@x.com has no address character before its @.
-#}
{% test no_personal_data_in_clear(model) %}

{%- set text_columns = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(model) if column.is_string() -%}
        {%- do text_columns.append(column.name) -%}
    {%- endfor -%}
{%- endif -%}

{%- if text_columns | length == 0 %}
select null as column_name, null as value where false
{%- else -%}
{%- for column in text_columns %}
select '{{ column }}' as column_name, "{{ column }}" as value
from {{ model }}
{# a mobile number, an E.164 number, an e-mail address: one pattern, so one pass over the column #}
where regexp_matches(
    "{{ column }}",
    '(^|[^0-9])(\+?86)?1[3-9][0-9]{9}([^0-9]|$)|\+[0-9]{8,15}|[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.[A-Za-z]'
)
{% if not loop.last %}union all{% endif %}
{%- endfor -%}
{%- endif %}

{% endtest %}

{#- The one-per-model tests' query (not_null_columns, expressions_are_true): one scan of `model` counting the
    rows each check fails, then one row per failing check, its label and how many rows. `checks`: a list of
    {label, fails}, `fails` a condition true on a failing row. -#}
{% macro failing_row_counts(model, checks, label_column, count_column) %}

with failing_counts as (

    select
    {%- for check in checks %}
        sum(case when {{ check.fails }} then 1 else 0 end) as failing_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}

)

{% for check in checks -%}
select '{{ check.label | replace("'", "''") }}' as {{ label_column }}, failing_{{ loop.index }} as {{ count_column }}
from failing_counts where failing_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif %}
{%- endfor %}

{% endmacro %}

{#- Fails with one row per expression of `expressions` that is not true on some row (a null counts as a failure),
    and on how many rows. One query (one dbt node, one Dagster asset check) for all of a model's row rules
    instead of one per rule: 135 expression tests were a third of a run's test nodes. -#}
{% test expressions_are_true(model, expressions) %}

with failing_counts as (

    select
    {%- for expression in expressions %}
        sum(case when coalesce(({{ expression }}), false) then 0 else 1 end) as failing_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}

)

{% for expression in expressions -%}
select '{{ expression | replace("'", "''") }}' as expression, failing_{{ loop.index }} as failing_rows
from failing_counts where failing_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif %}
{%- endfor %}

{% endtest %}

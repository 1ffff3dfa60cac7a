{#- Fails with one row per expression of `expressions` that is not true on some row (a null counts as a failure),
    and on how many rows. One query (one dbt node, one Dagster asset check) for all of a model's row rules
    instead of one per rule: 135 expression tests were a third of a run's test nodes. -#}
{% test expressions_are_true(model, expressions) %}

{%- set checks = [] -%}
{%- for expression in expressions -%}
    {%- do checks.append({"label": expression, "fails": "not coalesce((" ~ expression ~ "), false)"}) -%}
{%- endfor -%}
{{ failing_row_counts(model, checks, "expression", "failing_rows") }}

{% endtest %}

{#- Fails with one row per column of `columns` that holds a null, and how many rows do. One query (one dbt node,
    one Dagster asset check) for all of a model's required columns instead of one per column: 330 not_null tests
    were half of a run's test nodes. -#}
{% test not_null_columns(model, columns) %}

{%- set checks = [] -%}
{%- for column in columns -%}
    {%- do checks.append({"label": column, "fails": column ~ " is null"}) -%}
{%- endfor -%}
{{ failing_row_counts(model, checks, "column_name", "null_rows") }}

{% endtest %}

{#- Fails with one row per column of `columns` that holds a null, and how many rows do. One query (one dbt node,
    one Dagster asset check) for all of a model's required columns instead of one per column: 330 not_null tests
    were half of a run's test nodes. -#}
{% test not_null_columns(model, columns) %}

with

null_counts as (

    select
    {%- for column in columns %}
        sum(case when {{ column }} is null then 1 else 0 end) as nulls_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}

)

{% for column in columns -%}
select '{{ column }}' as column_name, nulls_{{ loop.index }} as null_rows from null_counts where nulls_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif %}
{%- endfor %}

{% endtest %}

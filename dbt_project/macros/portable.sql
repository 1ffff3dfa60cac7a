{#-
  SQL that DuckDB and Spark spell differently, written once per engine (dbt's adapter.dispatch: `default__`
  for DuckDB and any other engine, `spark__` for Spark and Databricks). Everything else in the models is SQL
  both accept, or one of dbt's own cross-database macros (dbt.datediff, dbt.dateadd, ...). docs/scale.md.
-#}

{#- The distinct values of `column`, sorted and joined with ',' (e.g. 'jd,pos,tmall'), over the rows `where`. -#}
{% macro sorted_distinct_list(column, where=none) -%}
    {{ return(adapter.dispatch('sorted_distinct_list', 'crmgrade')(column, where)) }}
{%- endmacro %}

{% macro default__sorted_distinct_list(column, where) -%}
    string_agg(distinct {{ column }}, ',' order by {{ column }}){% if where %} filter (where {{ where }}){% endif %}
{%- endmacro %}

{% macro spark__sorted_distinct_list(column, where) -%}
    {#- an empty set is null, as string_agg over no rows is -#}
    nullif(array_join(array_sort(collect_set({{ column }}){% if where %} filter (where {{ where }}){% endif %}), ','), '')
{%- endmacro %}

{#- Whether the list (array) `list` holds `value`. -#}
{% macro list_has(list, value) -%}
    {{ return(adapter.dispatch('list_has', 'crmgrade')(list, value)) }}
{%- endmacro %}

{% macro default__list_has(list, value) -%}
    list_contains({{ list }}, {{ value }})
{%- endmacro %}

{% macro spark__list_has(list, value) -%}
    array_contains({{ list }}, {{ value }})
{%- endmacro %}

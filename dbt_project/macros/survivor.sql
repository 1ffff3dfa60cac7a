{#- Golden-record survivorship: the value from the most trusted source that has one, and among equally
    trusted records the most recent. Used inside a `group by customer_key`. The record's lineage breaks ties of
    trust and time, so a re-run picks the same value. -#}
{% macro survivor(column) -%}
    {{ return(adapter.dispatch('survivor', 'crmgrade')(column)) }}
{%- endmacro %}

{% macro default__survivor(column) -%}
    first(
        {{ column }}
        order by trust_rank, observed_at desc nulls last, source_name, source_file, source_row_number
    ) filter (where {{ column }} is not null)
{%- endmacro %}

{#- Spark has no ordered aggregate: the smallest sort key wins, the key a struct in the same order (structs
    compare field by field; the latest time first as its negation, a missing time last). -#}
{% macro spark__survivor(column) -%}
    min_by(
        {{ column }},
        struct(
            trust_rank,
            coalesce(-unix_micros(cast(observed_at as timestamp)), 9223372036854775807),
            source_name,
            source_file,
            source_row_number
        )
    ) filter (where {{ column }} is not null)
{%- endmacro %}

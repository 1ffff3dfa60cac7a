{#- What a grading model reads from outside its spec: `orders` or `customers` (models/intermediate/grading_inputs).
    A run reads the live view. Regrading a past day (`crmgrade regrade`, pipeline/grading/regrade.py) sets the var
    grading_inputs_at to the time that day's inputs stood at (history.grade_history.inputs_as_of) and reads the
    versions its snapshot (snapshots/grading_inputs.yml) held then: the same rows, whatever changed since. -#}
{% macro grading_input(name) -%}
    {%- set live = ref('int_grading_inputs__' ~ name) -%}
    {%- set at = var('grading_inputs_at', '') -%}
    {%- if at -%}
        (
            select * exclude (dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to)
            from {{ ref('grading_input_' ~ name) }}
            where dbt_valid_from <= cast('{{ at }}' as timestamp)
                and (dbt_valid_to is null or dbt_valid_to > cast('{{ at }}' as timestamp))
        )
    {%- else -%}
        {{ live }}
    {%- endif -%}
{%- endmacro %}

{#- A segment map of the grading spec (a seed: rfm_segments_cn, rfm_segments_en). A grading variant reads the
    one of the spec version it grades under, written beside its spec (grading_spec_<variant>.<seed>,
    pipeline/grading/variant.py): a past spec's segment names, not today's. -#}
{% macro spec_seed(name) -%}
    {%- set live = ref(name) -%}
    {%- if var('grading_variant', '') -%}
        grading_spec_{{ var('grading_variant') }}.{{ name }}
    {%- else -%}
        {{ live }}
    {%- endif -%}
{%- endmacro %}

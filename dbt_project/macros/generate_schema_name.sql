{#- Use the folder's schema name as is (staging, intermediate, marts), not <target>_<schema>.
    A grading variant (var grading_variant, e.g. 'shadow': pipeline/grading/shadow.py) builds the models
    tagged spec_graded into <variant>_<schema> instead, beside the live ones, reading the spec it is given. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set schema = target.schema if custom_schema_name is none else custom_schema_name | trim -%}
    {%- if var('grading_variant', '') and 'spec_graded' in node.tags -%}
        {{ var('grading_variant') }}_{{ schema }}
    {%- else -%}
        {{ schema }}
    {%- endif -%}
{%- endmacro %}

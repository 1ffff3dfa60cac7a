{#- The lineage every raw row carries, under staging names. One definition for every stg_raw__ model. -#}
{% macro staging_lineage_columns() -%}
        _source as source_name,
        _source_file as source_file,
        _row_number as source_row_number,
        _file_sha256 as source_file_sha256,
        _ingested_at as ingested_at,
        _parse_errors as parse_errors
{%- endmacro %}

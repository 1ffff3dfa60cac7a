{#- The as-of date of the facts: var('as_of_date') (YYYY-MM-DD), which the pipeline always passes. "Today" is
    decided once, by the run (pipeline/config.py); a dbt command without the var stops here rather than grade
    another day than the job's and append it to the grade history. Facts use only data stamped before it:
    as_of_timestamp() is its first instant. -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date', '') -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- elif execute -%}
        {{ exceptions.raise_compiler_error(
            "var as_of_date is not set. Run dbt as the job does: `make dbt ARGS=\"build --select ...\"` (the run's "
            ~ "vars), or pass --vars '{\"as_of_date\": \"YYYY-MM-DD\"}'. Without it a build would grade a day the job "
            ~ "did not and append it to history.grade_history."
        ) }}
    {%- else -%}
        {#- parsing: nothing runs -#}
        cast(null as date)
    {%- endif -%}
{%- endmacro %}

{% macro as_of_timestamp() -%}
    cast({{ as_of_date() }} as timestamp)
{%- endmacro %}

{#- Customer-level models built incrementally: each build recomputes only the customers the identity runs since
    its last build changed (identity.customer_changes), deletes their old rows and appends the new ones, in one
    transaction. The last identity run applied and the code the rows were computed with are kept in
    dbt_state.customer_models; when the code changed (the model, anything upstream of it, a macro or a seed:
    the pipeline's fingerprint, pipeline/dbt_fingerprints.py) or the state is missing, the build recomputes every
    customer. On adapters other than DuckDB the models are plain tables (docs/scale.md).

    A model opts in with
        {{ config(**customer_increment_config()) }}
    and filters the customer-keyed relations it reads with {{ changed_customers_only('customer_key') }}.

    Event models also hold rows nobody owns (an anonymous walk-in's receipt, customer_key null). Those follow their
    file instead: with customer_increment_config(files_from='stg_raw__orders'), a build also redoes the rows
    nobody owns of the files delivered since its last build ({{ delivered_since_last_build() }} on the staged
    rows: their ingested_at is later than the last build's), and drops those of files no longer in that relation. -#}

{% macro customer_increment_config(files_from=none, unowned_key=none) -%}
    {%- set files = ("'" ~ files_from ~ "'") if files_from else 'none' -%}
    {%- set key = ("'" ~ unowned_key ~ "'") if unowned_key else 'none' -%}
    {{ return({
        'materialized': 'incremental' if target.type == 'duckdb' else 'table',
        'incremental_strategy': 'append',
        'on_schema_change': 'sync_all_columns',
        'pre_hook': ["{{ delete_changed_customers(" ~ files ~ ", " ~ key ~ ") }}"],
        'post_hook': ["{{ save_customer_increment(" ~ files ~ ") }}"],
    }) }}
{%- endmacro %}

{#- {'incremental': apply only the changes after `after`, 'after', 'through': the last identity run to apply}. -#}
{% macro customer_increment() -%}
    {%- set changes = ref('stg_identity__customer_changes') -%}  {#- at parse time too: the model depends on it -#}
    {%- set state = {'incremental': false, 'after': 0, 'through': 0, 'ingested_after': none} -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return(state) }}
    {%- endif -%}
    {%- do state.update({'through': last_identity_run(changes)}) -%}
    {%- set saved = saved_customer_increment() -%}
    {%- set fingerprint = customer_model_fingerprint() -%}
    {#- everyone is recomputed when the code changed or is unknown, or when identity's log starts again below what
        this model applied (identity rebuilt from nothing) -#}
    {%- if saved is not none and fingerprint != 'unknown' and saved.fingerprint == fingerprint
          and saved.run_seq <= state.through -%}
        {%- do state.update({'incremental': true, 'after': saved.run_seq, 'ingested_after': saved.ingested_through}) -%}
    {%- endif -%}
    {{ return(state) }}
{%- endmacro %}

{% macro last_identity_run(changes) -%}
    {{ return(run_query('select coalesce(max(identity_run_seq), 0) from ' ~ changes).columns[0].values()[0]) }}
{%- endmacro %}

{#- The customers to recompute: a filter on a customer key column (true when recomputing everyone). -#}
{% macro changed_customers_only(column) -%}
    {%- set increment = customer_increment() -%}
    {%- if increment.incremental -%}
        {{ column }} in (
            select customer_key from {{ ref('stg_identity__customer_changes') }}
            where identity_run_seq > {{ increment.after }} and identity_run_seq <= {{ increment.through }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Staged rows delivered since the last build (true when recomputing everyone). -#}
{% macro delivered_since_last_build(column='ingested_at') -%}
    {%- set increment = customer_increment() -%}
    {%- if increment.incremental and increment.ingested_after is not none -%}
        {{ column }} > cast('{{ increment.ingested_after }}' as timestamp)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- pre-hook: the rows about to be recomputed go (all of them when the model recomputes everyone). With
    files_from, also the rows nobody owns of files delivered since, or gone from files_from. unowned_key names the
    rows' key when it is not a file's lineage (an order: files_from is then its lines, with their customer_key). -#}
{% macro delete_changed_customers(files_from=none, unowned_key=none) -%}
    {%- if is_incremental() -%}
        {%- set increment = customer_increment() -%}
        delete from {{ this }} where {{ changed_customers_only('customer_key') }}
        {%- if files_from and increment.incremental %}
            or {{ unowned_rows_to_redo(files_from, unowned_key) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Rows nobody owns to redo: those of files delivered since the last build or no longer in files_from (a few
    thousand files, not millions of rows, to look up); with unowned_key, also every key with a row nobody owns
    delivered since (an anonymous order's row names the order's first file: an anonymous order spanning files,
    dropped from a later file delivered again, keeps its old totals until the next full rebuild). -#}
{% macro unowned_rows_to_redo(files_from, unowned_key) -%}
    {%- set files = ref(files_from) -%}
    (customer_key is null and (
        (source_name, source_file) in (
            select distinct (source_name, source_file) from {{ files }} where {{ delivered_since_last_build() }}
        )
        or (source_name, source_file) not in (select distinct (source_name, source_file) from {{ files }})
    ))
    {%- if unowned_key %}
    or ({{ unowned_key }}) in (
        select distinct ({{ unowned_key }}) from {{ files }}
        where customer_key is null and {{ delivered_since_last_build() }}
    )
    {%- endif -%}
{%- endmacro %}

{#- post-hook: what this build applied, read by the next one. -#}
{% macro save_customer_increment(files_from=none) -%}
    {%- if execute and model.config.materialized == 'incremental' -%}
        create schema if not exists dbt_state;
        create table if not exists dbt_state.customer_models (
            model varchar primary key, fingerprint varchar not null, run_seq bigint not null, built_at timestamp,
            ingested_through timestamp
        );
        insert or replace into dbt_state.customer_models (model, fingerprint, run_seq, built_at, ingested_through)
        values ('{{ this.schema }}.{{ this.identifier }}', '{{ customer_model_fingerprint() }}',
                {{ last_identity_run(ref('stg_identity__customer_changes')) }}, current_localtimestamp(),
                {% if files_from %}(select max(ingested_at) from {{ ref(files_from) }}){% else %}null{% endif %})
    {%- endif -%}
{%- endmacro %}

{% macro saved_customer_increment() -%}
    {%- set table = adapter.get_relation(database=this.database, schema='dbt_state', identifier='customer_models') -%}
    {%- if table is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query(
        "select fingerprint, run_seq, ingested_through from " ~ table
        ~ " where model = '" ~ this.schema ~ "." ~ this.identifier ~ "'"
    ).rows -%}
    {{ return({'fingerprint': rows[0][0], 'run_seq': rows[0][1], 'ingested_through': rows[0][2]}
              if rows | length else none) }}
{%- endmacro %}

{#- Set by the pipeline for every run (pipeline/dbt_fingerprints.py). A bare `dbt build` has none ('unknown'): its
    incremental models recompute everyone, and so does the pipeline's next run. -#}
{% macro customer_model_fingerprint() -%}
    {%- set fingerprints = fromjson(env_var('CRMGRADE_CODE_FINGERPRINTS', '{}')) -%}
    {{ return(fingerprints.get(model.unique_id, 'unknown')) }}
{%- endmacro %}

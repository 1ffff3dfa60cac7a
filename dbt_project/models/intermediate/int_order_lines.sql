-- Order lines of every channel with the identity graph's customer key and a product key. Rows whose values
-- did not parse or whose amount is negative are held back here; validation turns them into quarantine
-- entries with the reason. Built per customer: a run redoes the lines of the customers identity changed, and the
-- anonymous lines of the files delivered since (macros/customer_increment.sql).
{{ config(**customer_increment_config(files_from='stg_raw__orders')) }}
{%- set increment = customer_increment() %}

with

order_rows as (

    select * from {{ ref('stg_raw__orders') }}
    where parse_errors is null and coalesce(amount, 0) >= 0

),

graph as (

    select * from {{ ref('int_identity__graph') }}

),

{% if increment.incremental -%}

changed_graph as (

    select * from graph
    where {{ changed_customers_only('customer_key') }}

),

-- the lines of the customers identity changed
owned_lines as (

    select
        order_rows.*,
        changed_graph.customer_key
    from order_rows
    inner join changed_graph
        on order_rows.source_name = changed_graph.source_name
        and order_rows.source_file = changed_graph.source_file
        and order_rows.source_row_number = changed_graph.source_row_number

),

delivered as (

    select * from order_rows
    where {{ delivered_since_last_build() }}

),

delivered_graph as (

    select graph.* from graph
    where (graph.source_name, graph.source_file) in (select (source_name, source_file) from delivered)

),

-- the lines nobody owns, of the files delivered since the last build
unowned_lines as (

    select
        delivered.*,
        delivered_graph.customer_key
    from delivered
    left join delivered_graph
        on delivered.source_name = delivered_graph.source_name
        and delivered.source_file = delivered_graph.source_file
        and delivered.source_row_number = delivered_graph.source_row_number
    where delivered_graph.customer_key is null

),

lines as (

    select * from owned_lines
    union all
    select * from unowned_lines

),

{%- else %}

lines as (

    select
        order_rows.*,
        graph.customer_key
    from order_rows
    left join graph
        on order_rows.source_name = graph.source_name
        and order_rows.source_file = graph.source_file
        and order_rows.source_row_number = graph.source_row_number

),

{%- endif %}

final as (

    select
        source_name,
        order_id,
        line_number,
        customer_key,
        ordered_at,
        status as line_status,
        -- marketplaces export titles without SKUs: the name is the key every channel shares
        coalesce(nullif(trim(product_name), ''), product_id) as product_key,
        product_id,
        product_name,
        quantity,
        amount,
        refund_amount,
        store_id,
        source_file,
        source_row_number,
        ingested_at
    from lines

)

select * from final

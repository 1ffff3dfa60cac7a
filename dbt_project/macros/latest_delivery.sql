{#- The rows of `relation` (order lines with source_name, order_id, source_file, updated_at and ingested_at) that
    belong to each order's latest delivery. An order listed again in a later file (paid in March's export, closed in
    April's) is what that file says: the lines of its earlier deliveries are superseded, never summed with it.
    Latest is the delivery whose order was changed last (updated_at, where the export says it), else the file
    loaded last (a file's rows share its ingested_at), then the later file name. Portable SQL (no qualify): the
    models also run on Spark (docs/scale.md). -#}
{% macro latest_delivery(relation) -%}
    select rows_of_orders.*
    from {{ relation }} as rows_of_orders
    inner join (
        select source_name, order_id, source_file
        from (
            select
                source_name,
                order_id,
                source_file,
                row_number() over (
                    partition by source_name, order_id
                    order by changed_at desc nulls last, delivered_at desc nulls last, source_file desc
                ) as delivery_rank
            from (
                select
                    source_name, order_id, source_file, max(updated_at) as changed_at, max(ingested_at) as delivered_at
                from {{ relation }}
                group by source_name, order_id, source_file
            ) as deliveries
        ) as ranked
        where delivery_rank = 1
    ) as latest
        on rows_of_orders.source_name = latest.source_name
        and rows_of_orders.order_id = latest.order_id
        and rows_of_orders.source_file = latest.source_file
{%- endmacro %}

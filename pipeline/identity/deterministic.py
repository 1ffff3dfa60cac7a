"""Deterministic links: records sharing an identifier value are one person, joined by connected components.

A value seen with too many different names (a shop's own phone typed for every walk-in, a placeholder
e-mail) is shared, not personal: it is set aside in `shared` and links nothing.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
from splink import DuckDBAPI
from splink.clustering import cluster_pairwise_predictions_at_threshold

from pipeline.identity.private_db import private_connection
from pipeline.identity.records import JOIN_ONLY


def build_identifiers(
    con: duckdb.DuckDBPyConnection, identifiers: list[str], max_names: int, records: str = "identity_records"
) -> None:
    """Temp tables `identity_ids` (record_id, id_type, id_value) of usable values and `identity_shared`."""
    union = "\nunion all\n".join(
        f"select record_id, '{i}' as id_type, {i} as id_value, name from {records} where {i} is not null"
        for i in identifiers
    )
    con.execute(f"create or replace temp table identity_all_ids as {union}")
    con.execute(
        f"""create or replace temp table identity_shared as
        select id_type, id_value, count(*) as records, count(distinct name) as names
        from identity_all_ids group by id_type, id_value having count(distinct name) > {int(max_names)}"""
    )
    con.execute(
        """create or replace temp table identity_ids as
        select a.record_id, a.id_type, a.id_value
        from identity_all_ids a anti join identity_shared s using (id_type, id_value)"""
    )
    con.execute("drop table identity_all_ids")


def identifier_groups(con: duckdb.DuckDBPyConnection, records: str = "identity_records") -> None:
    """Temp table `identity_groups` (record_id, group_id): connected components over shared identifiers.

    Only records reaching a personal identifier or a name get a group: a walk-in receipt with no card, no
    phone and no name belongs to nobody we can name.
    """
    # A star per value (every record to the value's first record) carries the same components as all pairs.
    # Grouping and a join rather than a window over every identifier: DuckDB spills these within memory_limit.
    edges = con.sql(
        """with firsts as (
            select id_type, id_value, min(record_id) as first_record from identity_ids group by all
        )
        select distinct f.first_record as record_id_l, i.record_id as record_id_r
        from identity_ids i join firsts f using (id_type, id_value)
        where i.record_id != f.first_record"""
    ).to_arrow_table()
    nodes = con.sql(
        f"select record_id from identity_ids union select record_id from {records} where name is not null"
    ).to_arrow_table()
    clusters = connected_components(con, nodes, edges, "record_id")
    con.register("identity_cc", clusters)
    # An order id ties an order's lines together but names nobody: a group needs a personal identifier or a
    # name (a named buyer with no usable identifier is still somebody, and Splink may place them).
    join_only = ", ".join(f"'{i}'" for i in sorted(JOIN_ONLY))
    con.execute(
        f"""create or replace temp table identity_groups as
        select record_id, cluster_id as group_id from identity_cc
        where cluster_id in (
            select c.cluster_id from identity_cc c join identity_ids i using (record_id)
            where i.id_type not in ({join_only})
            union all
            select c.cluster_id from identity_cc c join {records} r using (record_id)
            where r.name is not null
        )"""
    )
    con.unregister("identity_cc")


def connected_components(con: duckdb.DuckDBPyConnection, nodes: pa.Table, edges: pa.Table, node_id: str) -> pa.Table:
    """(node_id, cluster_id) with Splink's connected components on a private in-memory DuckDB (`con`'s limits)."""
    if nodes.num_rows == 0:
        return pa.table({node_id: pa.array([], pa.int64()), "cluster_id": pa.array([], pa.int64())})
    private = private_connection(con)
    try:
        db_api = DuckDBAPI(private)
        result = cluster_pairwise_predictions_at_threshold(nodes, edges, db_api=db_api, node_id_column_name=node_id)
        # Splink names a cluster after one of its nodes; the smallest node id makes the name repeatable.
        return private.sql(
            f"select {node_id}, min({node_id}) over (partition by cluster_id) as cluster_id from {result.physical_name}"
        ).to_arrow_table()
    finally:
        private.close()

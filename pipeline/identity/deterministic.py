"""Deterministic links: records sharing an identifier value are one person, joined by connected components.

A value seen with too many different names (a shop's own phone typed for every walk-in, a placeholder
e-mail) is shared, not personal: it is set aside in `shared` and links nothing.
"""

from __future__ import annotations

import duckdb
from splink.clustering import cluster_pairwise_predictions_at_threshold

from pipeline.contracts.schema import JOIN_ONLY
from pipeline.identity.work_db import WORK_DB, splink_db_api, unordered


def build_identifiers(
    con: duckdb.DuckDBPyConnection,
    identifiers: list[str],
    max_names: int,
    records: str = "identity_records",
    known_shared: str | None = None,
) -> None:
    """Workspace tables `identity_ids` (record_id, id_type, id_value) of usable values and `identity_shared`.

    known_shared: a table of (id_type, id_value) found shared among records not all of which are in `records`
    (an increment's): they stay shared, whatever the names seen here.
    """
    union = "\nunion all\n".join(
        f"select record_id, '{i}' as id_type, {i} as id_value, name from {records} where {i} is not null"
        for i in identifiers
    )
    con.execute(f"create or replace table {WORK_DB}.identity_all_ids as {union}")
    known = f"or (id_type, id_value) in (select (id_type, id_value) from {known_shared})" if known_shared else ""
    con.execute(
        f"""create or replace table {WORK_DB}.identity_shared as
        select id_type, id_value, count(*) as records, count(distinct name) as names
        from identity_all_ids group by id_type, id_value
        having count(distinct name) > {int(max_names)} {known}"""
    )
    con.execute(
        f"""create or replace table {WORK_DB}.identity_ids as
        select a.record_id, a.id_type, a.id_value
        from identity_all_ids a anti join identity_shared s using (id_type, id_value)"""
    )
    con.execute("drop table identity_all_ids")


def identifier_groups(con: duckdb.DuckDBPyConnection, records: str = "identity_records") -> None:
    """Workspace table `identity_groups` (record_id, group_id): connected components over shared identifiers.

    Only records reaching a personal identifier or a name get a group: a walk-in receipt with no card, no
    phone and no name belongs to nobody we can name.
    """
    # A star per value (every record to the value's first record) carries the same components as all pairs.
    # Grouping and a join rather than a window over every identifier: DuckDB spills these within memory_limit.
    edges = """with firsts as (
            select id_type, id_value, min(record_id) as first_record from identity_ids group by all
        )
        select distinct f.first_record as record_id_l, i.record_id as record_id_r
        from identity_ids i join firsts f using (id_type, id_value)
        where i.record_id != f.first_record"""
    nodes = f"select record_id from identity_ids union select record_id from {records} where name is not null"
    connected_components(con, nodes, edges, "record_id", into="identity_cc")
    # An order id ties an order's lines together but names nobody: a group needs a personal identifier or a
    # name (a named buyer with no usable identifier is still somebody, and Splink may place them).
    join_only = ", ".join(f"'{i}'" for i in sorted(JOIN_ONLY))
    con.execute(
        f"""create or replace table {WORK_DB}.identity_groups as
        select record_id, cluster_id as group_id from identity_cc
        where cluster_id in (
            select c.cluster_id from identity_cc c join identity_ids i using (record_id)
            where i.id_type not in ({join_only})
            union all
            select c.cluster_id from identity_cc c join {records} r using (record_id)
            where r.name is not null
        )"""
    )
    con.execute("drop table identity_cc")


def connected_components(con: duckdb.DuckDBPyConnection, nodes: str, edges: str, node_id: str, into: str) -> None:
    """Workspace table `into` (node_id, cluster_id): Splink's connected components of the graph of two queries.

    nodes: a query of `node_id`; edges: a query of `<node_id>_l`, `<node_id>_r`. A cluster is named after its
    smallest node id, so the names repeat from run to run.
    """
    with unordered(con):
        with splink_db_api(con) as db_api:
            con.execute(f"create or replace table cc_nodes as {nodes}")
            con.execute(f"create or replace table cc_edges as {edges}")
            result = cluster_pairwise_predictions_at_threshold(
                "cc_nodes", "cc_edges", db_api=db_api, node_id_column_name=node_id
            ).physical_name
        # Grouping and a join, not a window over every node: spills within memory_limit.
        con.execute(
            f"""create or replace table {WORK_DB}.{into} as
            with named as (
                select cluster_id, min({node_id}) as smallest from {WORK_DB}.{result} group by cluster_id
            )
            select r.{node_id}, n.smallest as cluster_id
            from {WORK_DB}.{result} r join named n using (cluster_id)"""
        )
        for table in ("cc_nodes", "cc_edges", result):
            con.execute(f"drop table {WORK_DB}.{table}")


def add_groups(con: duckdb.DuckDBPyConnection, rows: str) -> None:
    """Append (record_id, group_id) rows to `identity_groups`: groups kept as they were (the customers an
    increment's matches reach outside its neighbourhood)."""
    con.execute(f"insert into identity_groups {rows}")

"""Keeping never-link pairs apart within a run (the pairs themselves and the ledger: never_link.py).

A customer holding records of both sides of a pair is built again from its own links, strongest first (shared
identifiers, then Splink's matches by probability), skipping any link that would put the two sides together: the
greedy cannot-link clustering of the record-linkage literature. Customers holding no pair's two sides are not
looked at, so their keys never change.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from pipeline.identity.changes import table_columns
from pipeline.identity.config import NeverLink
from pipeline.identity.never_link import LINEAGE, active_pairs
from pipeline.identity.work_db import WORK_DB


class _Components:
    """Union-find over records that refuses a union putting two sides of a pair in one component."""

    def __init__(self, sides: dict[int, dict[str, set[str]]]) -> None:
        self.parent: dict[int, int] = {}
        self.sides = sides  # root -> pair_id -> sides present

    def find(self, node: int) -> int:
        root = node
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while node != root:
            self.parent[node], node = root, self.parent.get(node, node)
        return root

    def union(self, x: int, y: int) -> bool:
        """Join the components of x and y; False (and nothing joined) when that would join a pair's two sides."""
        rx, ry = self.find(x), self.find(y)
        if rx == ry:
            return True
        sx, sy = self.sides.get(rx, {}), self.sides.get(ry, {})
        if any(pair in sy and sy[pair] != present for pair, present in sx.items()):
            return False
        if len(sx) < len(sy):
            rx, ry, sx, sy = ry, rx, sy, sx
        self.parent[ry] = rx
        for pair, present in sy.items():
            sx.setdefault(pair, set()).update(present)
        self.sides[rx] = sx
        self.sides.pop(ry, None)
        return True


@dataclass
class Split:
    customers: int = 0  # customers that held two sides of a pair and were split
    links_refused: int = 0  # identifier and match links skipped to keep them apart
    clusters: pa.Table | None = None  # (record_id, cluster_id): the new cluster of every member of a split customer
    refused_edges: pa.Table | None = None  # (group_id_l, group_id_r): matches no longer accepted


def split_pairs(con: duckdb.DuckDBPyConnection, entries: list[NeverLink]) -> Split:
    """How to split the clusters of workspace table `identity_clusters` (record_id, group_id, cluster_id) that hold
    both sides of an active pair, and which matches of `identity_edges` that refuses. Reads both; the caller, their
    producer, applies the split."""
    kept = Split()
    if not table_columns(con, "identity", "never_link_pairs"):
        return kept
    lineage = ", ".join(LINEAGE)
    con.execute(
        f"""create or replace table {WORK_DB}.identity_pair_sides as
        select distinct r.record_id, n.pair_id, n.side
        from identity.never_link_records n
        join identity_records r using ({lineage})
        where n.pair_id in ({active_pairs(entries)})"""
    )
    con.execute(
        f"""create or replace table {WORK_DB}.identity_split_members as
        select c.record_id, c.group_id, c.cluster_id from identity_clusters c
        where c.cluster_id in (
            select c.cluster_id from identity_clusters c join identity_pair_sides s using (record_id)
            group by c.cluster_id, s.pair_id having count(distinct s.side) = 2
        )"""
    )
    members = con.sql("select record_id, group_id, cluster_id from identity_split_members").fetchall()
    if members:
        kept = _split(con, members)
    con.execute("drop table identity_pair_sides")
    con.execute("drop table identity_split_members")
    return kept


def _split(con: duckdb.DuckDBPyConnection, members: list[tuple[int, int, int]]) -> Split:
    sides: dict[int, dict[str, set[str]]] = {}
    for record_id, pair_id, side in con.sql(
        "select record_id, pair_id, side from identity_pair_sides semi join identity_split_members using (record_id)"
    ).fetchall():
        sides.setdefault(record_id, {}).setdefault(pair_id, set()).add(side)
    components = _Components(sides)
    refused_edges: list[tuple[int, int]] = []
    refused = 0
    # 1. shared identifier values (a star per value, in a fixed order so a re-run splits the same way)
    first: dict[tuple[str, str], int] = {}
    for id_type, id_value, record_id in con.sql(
        """select id_type, id_value, record_id from identity_ids semi join identity_split_members using (record_id)
        order by id_type, id_value, record_id"""
    ).fetchall():
        anchor = first.setdefault((id_type, id_value), record_id)
        if anchor != record_id and not components.union(anchor, record_id):
            refused += 1
    # 2. Splink's matches (and the masked-phone rule's) between identifier groups, most probable first
    representative = {}
    for record_id, group_id, _ in sorted(members):
        representative.setdefault(group_id, record_id)
    for group_l, group_r in con.sql(
        """select group_id_l, group_id_r from identity_edges
        where accepted and group_id_l in (select group_id from identity_split_members)
          and group_id_r in (select group_id from identity_split_members)
        order by coalesce(match_probability, 1) desc, group_id_l, group_id_r"""
    ).fetchall():
        if not components.union(representative[group_l], representative[group_r]):
            refused += 1
            refused_edges.append((group_l, group_r))
    # 3. records of one identifier group the steps above left unjoined are joined when they can be
    for record_id, group_id, _ in members:
        components.union(representative[group_id], record_id)
    roots: dict[int, int] = {}
    for record_id, _, _ in sorted(members):
        roots.setdefault(components.find(record_id), record_id)  # a cluster is named after its smallest record
    split = pa.table(
        {
            "record_id": [m[0] for m in members],
            "cluster_id": [roots[components.find(m[0])] for m in members],
        }
    )
    refused_table = (
        pa.table({"group_id_l": [e[0] for e in refused_edges], "group_id_r": [e[1] for e in refused_edges]})
        if refused_edges
        else None
    )
    return Split(len({m[2] for m in members}), refused, split, refused_table)

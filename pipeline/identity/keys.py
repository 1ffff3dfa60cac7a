"""Stable customer keys: a re-run keeps every existing customer's key.

Each customer (a final cluster of records) inherits the key that most of its records had last run. When two
earlier customers merge, the one with more records keeps its key and the other's is retired with the
survivor as successor; when a customer splits, the larger part keeps the key and the rest get new ones.
New customers get the next numbers, in the order of their first record, so a re-run is repeatable.
Written in SQL on the warehouse connection: at tens of millions of records DuckDB spills what a data frame
would hold in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.identity.key_format import KEY_DIGITS, KEY_PREFIX
from pipeline.identity.work_db import WORK_DB

if TYPE_CHECKING:
    import duckdb


def assign_keys(con: duckdb.DuckDBPyConnection, clusters: str, previous: str, issued_max: int) -> None:
    """Workspace tables `identity_key_map` (cluster_id, customer_key) and `identity_retired` (customer_key,
    successor_key).

    clusters: a table of record_id, cluster_id (cluster ids are the smallest record_id of the cluster).
    previous: a table of record_id, customer_key (records of this run that had a key last run).
    issued_max: the highest key number ever issued (retired keys are never reused).
    """
    con.execute(
        f"""create or replace table {WORK_DB}.identity_votes as
        select c.cluster_id, p.customer_key, count(*) as records
        from {clusters} c join {previous} p using (record_id)
        group by all"""
    )
    con.execute(
        f"""create or replace table {WORK_DB}.identity_key_map as
        with best as (
            -- each cluster's candidate: the earlier key most of its records carry (ties: the older key)
            select cluster_id, customer_key, records from identity_votes
            qualify row_number() over (partition by cluster_id order by records desc, customer_key) = 1
        ),
        kept as (
            -- a key claimed by several clusters (a split) stays with the cluster holding most of its records
            select cluster_id, customer_key from best
            qualify row_number() over (partition by customer_key order by records desc, cluster_id) = 1
        ),
        new as (
            select cluster_id,
                   printf('{KEY_PREFIX}%0{KEY_DIGITS}d', {int(issued_max)} + row_number() over (order by cluster_id))
                       as customer_key
            from (select distinct cluster_id from {clusters}) anti join kept using (cluster_id)
        )
        select cluster_id, customer_key from kept
        union all
        select cluster_id, customer_key from new"""
    )
    # Earlier keys that no cluster kept were merged into (or split off to) the cluster holding most of their records.
    con.execute(
        f"""create or replace table {WORK_DB}.identity_retired as
        with gone as (
            select cluster_id, customer_key from identity_votes
            where customer_key not in (select customer_key from identity_key_map)
            qualify row_number() over (partition by customer_key order by records desc, cluster_id) = 1
        )
        select g.customer_key, m.customer_key as successor_key
        from gone g join identity_key_map m using (cluster_id)"""
    )
    con.execute("drop table identity_votes")

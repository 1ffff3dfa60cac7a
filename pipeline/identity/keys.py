"""Stable customer keys: a re-run keeps every existing customer's key.

Each customer (a final cluster of records) inherits the key that most of its records had last run. When two
earlier customers merge, the one with more records keeps its key and the other's is retired with the
survivor as successor; when a customer splits, the larger part keeps the key and the rest get new ones.
New customers get the next numbers, in the order of their first record, so a re-run is repeatable.
"""

from __future__ import annotations

import polars as pl

KEY_PREFIX = "C"
KEY_DIGITS = 10


def format_key(number: int) -> str:
    return f"{KEY_PREFIX}{number:0{KEY_DIGITS}d}"


def key_number(key: str) -> int:
    return int(key[len(KEY_PREFIX) :])


def assign_keys(clusters: pl.DataFrame, previous: pl.DataFrame, issued_max: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Map clusters to customer keys.

    clusters: record_id, cluster_id (cluster ids are the smallest record_id of the cluster).
    previous: record_id, customer_key (records of this run that had a key last run).
    issued_max: the highest key number ever issued (retired keys are never reused).
    Returns (cluster_id -> customer_key, retired: customer_key -> successor_key).
    """
    votes = (
        clusters.join(previous, on="record_id", how="inner")
        .group_by("cluster_id", "customer_key")
        .agg(pl.len().alias("records"))
    )
    # Each cluster's candidate: the earlier key most of its records carry (ties: the older key).
    best = votes.sort(["cluster_id", "records", "customer_key"], descending=[False, True, False]).unique(
        "cluster_id", keep="first", maintain_order=True
    )
    # A key claimed by several clusters (a split) stays with the cluster holding most of its records.
    kept = best.sort(["customer_key", "records", "cluster_id"], descending=[False, True, False]).unique(
        "customer_key", keep="first", maintain_order=True
    )
    all_clusters = clusters.select("cluster_id").unique().sort("cluster_id")
    new = all_clusters.join(kept, on="cluster_id", how="anti")
    new = new.with_columns(
        pl.Series(
            "customer_key",
            [format_key(issued_max + i + 1) for i in range(new.height)],
            dtype=pl.String,
        )
    )
    mapping = pl.concat([kept.select("cluster_id", "customer_key"), new]).sort("cluster_id")
    # Earlier keys that no cluster kept were merged into (or split off to) the cluster holding most of their records.
    retired = (
        votes.join(mapping.select("customer_key"), on="customer_key", how="anti")
        .sort(["customer_key", "records", "cluster_id"], descending=[False, True, False])
        .unique("customer_key", keep="first", maintain_order=True)
        .join(mapping.rename({"customer_key": "successor_key"}), on="cluster_id")
        .select("customer_key", "successor_key")
    )
    return mapping, retired

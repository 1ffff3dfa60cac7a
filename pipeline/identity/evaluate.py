"""Pairwise precision and recall of a clustering against known labels (a labelled sample, a planted truth).

Counted without listing pairs: pairs in a set of n records = n(n-1)/2, so true positives are the pairs
inside each (predicted cluster, true entity) cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class PairwiseScores:
    records: int
    predicted_pairs: int
    true_pairs: int
    true_positive_pairs: int
    predicted_clusters: int
    true_entities: int

    @property
    def precision(self) -> float:
        return self.true_positive_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive_pairs / self.true_pairs if self.true_pairs else 1.0


def pairwise_scores(con: duckdb.DuckDBPyConnection, relation: str) -> PairwiseScores:
    """`relation` has one row per record with columns `predicted` and `truth` (cluster and entity labels)."""
    row = con.sql(
        f"""with labelled as (
            select predicted, truth from {relation} where predicted is not null and truth is not null
        ),
        pred as (select count(*) as n from labelled group by predicted),
        true_ as (select count(*) as n from labelled group by truth),
        cell as (select count(*) as n from labelled group by predicted, truth)
        select (select count(*) from labelled),
               (select coalesce(sum(n * (n - 1) // 2), 0) from pred),
               (select coalesce(sum(n * (n - 1) // 2), 0) from true_),
               (select coalesce(sum(n * (n - 1) // 2), 0) from cell),
               (select count(*) from pred),
               (select count(*) from true_)"""
    ).fetchall()[0]
    return PairwiseScores(*(int(v) for v in row))

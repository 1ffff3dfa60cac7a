"""Scoring the warehouse against a demo set's planted truth (tests and benchmarks; the pipeline never calls it)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.identity.evaluate import PairwiseScores, pairwise_scores


def identity_scores(con: duckdb.DuckDBPyConnection, demo: Path) -> PairwiseScores:
    """Pairwise precision/recall of identity.record_links against truth/records.parquet (joined by file and row)."""
    con.execute(
        f"""create or replace temp view identity_vs_truth as
        select l.customer_key as predicted, t.person_id as truth
        from identity.record_links l
        join read_parquet('{demo / "truth/records.parquet"}') t
            on t.file = l.source_file and t.row_number = l.source_row_number"""
    )
    return pairwise_scores(con, "identity_vs_truth")

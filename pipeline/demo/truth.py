"""Scoring the warehouse against a demo set's planted truth (tests and benchmarks; the pipeline never calls it)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipeline.demo.population import INTENDED_SEGMENT
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


def persona_segments(con: duckdb.DuckDBPyConnection, demo: Path) -> pl.DataFrame:
    """Graded customers per planted persona and segment_en: (persona, intended, segment_en, customers).

    A customer's persona is the one of the planted person most of its records belong to.
    """
    intended = pl.DataFrame({"persona": list(INTENDED_SEGMENT), "intended": list(INTENDED_SEGMENT.values())})
    con.register("intended", intended.to_arrow())
    return con.sql(
        f"""with person_of as (
            select l.customer_key, arg_max(t.person_id, n) as person_id
            from (
                select l.customer_key, t.person_id, count(*) as n
                from identity.record_links l
                join read_parquet('{demo / "truth/records.parquet"}') t
                    on t.file = l.source_file and t.row_number = l.source_row_number
                group by all
            ) t
            join (select distinct customer_key from identity.record_links) l using (customer_key)
            group by l.customer_key
        )
        select p.persona, i.intended, g.segment_en, count(*) as customers
        from marts.customer_grades g
        join person_of using (customer_key)
        join read_parquet('{demo / "truth/persons.parquet"}') p using (person_id)
        left join intended i using (persona)
        group by all
        order by all"""
    ).pl()


def persona_accuracy(confusion: pl.DataFrame) -> float:
    """Share of graded customers whose segment is their persona's intended one (personas with an intention)."""
    judged = confusion.filter(pl.col("intended").is_not_null())
    hits = judged.filter(pl.col("intended") == pl.col("segment_en"))["customers"].sum()
    return hits / judged["customers"].sum()


def confusion_markdown(confusion: pl.DataFrame) -> str:
    wide = confusion.pivot(on="segment_en", index=["persona", "intended"], values="customers").fill_null(0)
    columns = wide.columns
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in wide.iter_rows()]
    return "\n".join(lines)

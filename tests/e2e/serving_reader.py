"""A BI tool in a second process: queries the serving copy in a loop until told to stop (the file `stop`
appears) and at least `minimum` iterations are done, then 5 more (they see what the run published last). One
JSON line per iteration: the version read, whether its answers agree, or the error. Run by
tests/e2e/test_pipeline.py while a full run publishes."""

import json
import os
import sys
import time
from pathlib import Path

import duckdb
import polars as pl

SQL = """select
    (select version from bi.published_version),
    (select customers from bi.grade_summary where breakdown = 'all'),
    (select sum(customers) from bi.grade_summary where breakdown = 'grade'),
    (select count(*) from bi.customer_grades)"""


def one_iteration(serving: Path) -> dict:
    before = os.path.realpath(serving / "current")
    # DuckDB file: one connection, one snapshot of one version
    con = duckdb.connect(str(serving / "warehouse.duckdb"), read_only=True)
    try:
        version, total, per_grade, graded = con.sql(SQL).fetchall()[0]
    finally:
        con.close()
    # Parquet: resolve `current` once, then read every file of that version
    folder = Path(os.path.realpath(serving / "current")) / "parquet"
    summary = pl.read_parquet(folder / "grade_summary.parquet")
    p_version = pl.read_parquet(folder / "published_version.parquet")["version"][0]
    p_total = summary.filter(pl.col("breakdown") == "all")["customers"][0]
    p_per_grade = summary.filter(pl.col("breakdown") == "grade")["customers"].sum()
    p_graded = pl.read_parquet(folder / "customer_grades.parquet").height
    return {
        "version": version,
        "parquet_version": p_version,
        # the switch fell between the two reads: each read one whole version, not the same one
        "switched": before != str(folder.parent),
        "consistent": total == per_grade == graded and p_total == p_per_grade == p_graded,
    }


def main(serving: Path, stop: Path, minimum: int) -> None:
    done, after_stop = 0, 0
    while done < minimum or after_stop < 5:
        after_stop += stop.exists()
        try:
            line = one_iteration(serving)
        except Exception as exc:  # every failure is reported, none ends the loop
            line = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(line), flush=True)
        done += 1
        time.sleep(0.2)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))

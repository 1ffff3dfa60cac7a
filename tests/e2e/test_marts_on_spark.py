"""Scale-out: the dbt models run unchanged on Apache Spark (dbt-spark, session method, a local SparkSession, in
its own environment .venv-spark: tests/e2e/spark_dbt.py) and every mart comes out as DuckDB built it in the shared
first run, from the same source tables."""

import json
import subprocess
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.conftest import REPO, dbt_test_vars

pytestmark = [pytest.mark.slow, pytest.mark.spark]

SPARK_PYTHON = REPO / ".venv-spark" / "bin" / "python"
# Averages and shares differ in the last places between engines (Spark averages decimals to a fixed scale,
# DuckDB in binary floating point): equal within 1e-5 (amounts in yuan are exact decimals on both).
TOLERANCE = {"check_dtypes": False, "check_exact": False, "rel_tol": 1e-9, "abs_tol": 1e-5}


def comparable(frame: pl.DataFrame) -> pl.DataFrame:
    """Numbers as floats, times in microseconds, rows in one order: what two engines that agree print alike
    (DuckDB's decimal(18,2) and Spark's decimal(38,6) are the same amount)."""
    columns = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype.is_numeric():
            col = col.cast(pl.Float64)
        elif isinstance(dtype, pl.Datetime):
            col = col.cast(pl.Datetime("us"))
        columns.append(col)
    out = frame.select(columns)
    keys = [n for n, t in out.schema.items() if t != pl.Float64] + [n for n, t in out.schema.items() if t == pl.Float64]
    return out.sort(keys, nulls_last=True)


@pytest.fixture(scope="module")
def spark_build(first_run, dbt_manifest, tmp_path_factory) -> tuple[Path, dict]:
    """The marts and everything they are built from, built by dbt on Spark: (work folder, result)."""
    assert SPARK_PYTHON.exists(), "no .venv-spark: `make test` builds it (pyproject.toml's spark group)"
    folder = tmp_path_factory.mktemp("spark")
    args = [str(SPARK_PYTHON), str(REPO / "tests" / "e2e" / "spark_dbt.py"), str(first_run.warehouse)]
    args += [str(dbt_manifest), str(folder), json.dumps(dbt_test_vars())]
    done = subprocess.run(args, cwd=folder, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return folder, json.loads((folder / "result.json").read_text(encoding="utf-8"))


def test_dbt_builds_the_marts_on_spark(spark_build):
    _, result = spark_build
    assert result["failures"] == []


def test_every_mart_is_the_same_on_spark_as_on_duckdb(spark_build, first_run):
    folder, result = spark_build
    assert not result["failures"], "dbt build on Spark failed"
    assert {"fct_customer", "dim_customer", "customer_grades", "fct_orders"} <= set(result["marts"])
    con = duckdb.connect(str(first_run.warehouse), read_only=True)
    try:
        differing = []
        for mart in result["marts"]:
            expected = comparable(con.sql(f"select * from marts.{mart}").pl())
            actual = comparable(pl.read_parquet(folder / "marts" / f"{mart}.parquet"))
            assert expected.height > 0, f"marts.{mart} is empty in the first run: nothing would be compared"
            try:
                assert_frame_equal(actual, expected, **TOLERANCE)
            except AssertionError as error:
                differing.append(f"marts.{mart}: {error}")
    finally:
        con.close()
    assert differing == []

"""Whole tables written from Python (pipeline/warehouse_tables.py)."""

import duckdb
import polars as pl

from pipeline.warehouse_tables import replace_tables, table_exists


def test_a_table_exists_once_written_in_its_own_schema_only():
    con = duckdb.connect()
    assert not table_exists(con, "clv", "model_params")
    replace_tables(con, "clv", {"model_params": pl.DataFrame({"value": [1.0]})})
    assert table_exists(con, "clv", "model_params")
    assert not table_exists(con, "history", "model_params") and not table_exists(con, "clv", "model")

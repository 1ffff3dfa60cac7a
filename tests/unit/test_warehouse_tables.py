"""Whole tables written from Python (pipeline/warehouse_tables.py)."""

import duckdb
import polars as pl
import pytest

from pipeline.warehouse_tables import replace_tables, table_exists, transaction


def test_a_table_exists_once_written_in_its_own_schema_only():
    con = duckdb.connect()
    assert not table_exists(con, "clv", "model_params")
    replace_tables(con, "clv", {"model_params": pl.DataFrame({"value": [1.0]})})
    assert table_exists(con, "clv", "model_params")
    assert not table_exists(con, "history", "model_params") and not table_exists(con, "clv", "model")


def test_a_transaction_commits_its_block_and_a_failure_in_it_leaves_the_warehouse_as_it_was():
    con = duckdb.connect()
    con.execute("create table t (n integer)")
    with transaction(con):
        con.execute("insert into t values (1)")
    with pytest.raises(ValueError, match="half-way"), transaction(con):
        con.execute("insert into t values (2)")
        raise ValueError("half-way")
    assert con.execute("select n from t").fetchall() == [(1,)]
    con.execute("insert into t values (3)")  # the connection is usable: no transaction left open
    assert con.execute("select count(*) from t").fetchall() == [(2,)]

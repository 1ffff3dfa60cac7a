"""Writing whole tables from Python into the warehouse, one transaction at a time, and asking whether one is there."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import duckdb
import polars as pl
import pyarrow as pa


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The block as one transaction: committed when it ends, rolled back when it (or the commit) raises, and the
    error raised again, so a failure part-way leaves the warehouse as it was."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def replace_tables(con: duckdb.DuckDBPyConnection, schema: str, tables: Mapping[str, pa.Table | pl.DataFrame]) -> None:
    """Create or replace `schema`.<name> from each frame, all in one transaction: a reader sees every table of
    the old set or every table of the new one, and a failure part-way leaves the old set."""
    con.execute(f"create schema if not exists {schema}")
    with transaction(con):
        for name, frame in tables.items():
            con.register("replacement_rows", frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame)
            con.execute(f"create or replace table {schema}.{name} as select * from replacement_rows")
            con.unregister("replacement_rows")


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema`.`table` is in the warehouse (a table a later stage or an earlier run writes)."""
    [(found,)] = con.execute(
        "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, table]
    ).fetchall()
    return found > 0


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Append `frame` to `table`, its columns matched by name."""
    con.register("_frame", frame.to_arrow())
    try:
        con.execute(f"insert into {table} by name select * from _frame")
    finally:
        con.unregister("_frame")

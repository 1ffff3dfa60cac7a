"""The in-memory DuckDB Splink works in, held to the warehouse connection's limits."""

from __future__ import annotations

import os

import duckdb


def private_connection(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """An in-memory database with `con`'s memory_limit, spilling into a folder of its own under `con`'s
    temp_directory (the two databases must not share temp files)."""
    memory_limit, temp_directory = con.sql(
        "select current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchall()[0]
    spill = os.path.join(temp_directory or ".tmp", "identity")
    return duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill})

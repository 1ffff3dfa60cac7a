"""Where identity resolution keeps its working tables: a scratch database attached to the warehouse connection.

One DuckDB instance holds the warehouse, the working tables and Splink's, so the one memory_limit bounds them
all and tables pass between them without a copy through Python (a private DuckDB for Splink had a limit of
its own: two limits and the Arrow copies between them made identity's peak). For a warehouse on disk the
scratch database is a file in the temp_directory: its tables are compressed and written as they are built,
so DuckDB can drop them from memory without spilling them first (at 10M orders the same tables as temp
tables held 1.8 GB of memory and ran the next query out of it). The file is deleted afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from splink import DuckDBAPI

WORK_DB = "crmgrade_identity_work"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _scratch_path(con: duckdb.DuckDBPyConnection) -> str | None:
    [(path, temp_directory)] = con.sql(
        """select path, current_setting('temp_directory')
        from duckdb_databases() where database_name = current_database()"""
    ).fetchall()
    if not path or not temp_directory:
        return None  # an in-memory warehouse (tests): the scratch database is in memory too
    os.makedirs(temp_directory, exist_ok=True)
    return os.path.join(temp_directory, f"{WORK_DB}.duckdb")


def _remove(path: str) -> None:
    for leftover in (path, path + ".wal"):
        if os.path.exists(leftover):
            os.remove(leftover)


def _attached(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.sql("select 1 from duckdb_databases() where database_name = ?", params=[WORK_DB]).fetchall())


@contextmanager
def identity_workspace(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The scratch database attached as WORK_DB and searched after the current one, detached and deleted after.

    Working tables are created as `WORK_DB.name` and read by their bare name. Re-entrant: inside an open
    workspace it does nothing (the identity asset keeps one open to check the result).
    """
    if _attached(con):
        yield
        return
    path = _scratch_path(con)
    if path:
        _remove(path)  # a crashed run's
    target = (path or ":memory:").replace("'", "''")
    [(home, search_path)] = con.sql("select current_database(), current_setting('search_path')").fetchall()
    con.execute(f"attach '{target}' as {WORK_DB}")
    try:
        con.execute(f"set search_path = '{_quoted(home)}.main,{WORK_DB}.main'")
        yield
    finally:
        con.execute(f"set search_path = '{search_path}'")
        con.execute(f"detach {WORK_DB}")
        if path:
            _remove(path)


@contextmanager
def splink_db_api(con: duckdb.DuckDBPyConnection) -> Iterator[DuckDBAPI]:
    """A Splink DuckDBAPI on `con` (inside identity_workspace) whose own tables go to the scratch database.

    Splink creates its tables unqualified, so the scratch database is the current one meanwhile: the
    workspace's tables and `con`'s temp tables are readable by their bare names, the warehouse's schemas are not.
    """
    [(home, search_path)] = con.sql("select current_database(), current_setting('search_path')").fetchall()
    con.execute(f"use {WORK_DB}")
    try:
        yield DuckDBAPI(con)
    finally:
        con.execute(f"use {_quoted(home)}")  # USE also resets the search path
        con.execute(f"set search_path = '{search_path}'")


@contextmanager
def unordered(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Statements whose output order does not matter, run with preserve_insertion_order off.

    Writing tens of millions of rows in insertion order holds whole row groups in memory; a set of edges or
    links has no order to keep. Statements that must stay repeatable row for row (Splink's seeded sampling
    reads its input in order) run outside.
    """
    [(before,)] = con.sql("select current_setting('preserve_insertion_order')").fetchall()
    con.execute("set preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"set preserve_insertion_order = {'true' if before else 'false'}")
